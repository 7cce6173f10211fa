// felixload runs N simulated Felix agents and reports, as JSON lines on stdout, when they reach
// in-sync and when a named Kubernetes NetworkPolicy has reached every one of them.
//
// It is built by e2e/build-engine.sh inside the unpacked Calico source (the same tarball as the
// calico-typha binary), so each agent runs Calico's own client code, not an imitation:
//
//   - direct: libcalico-go's felixsyncer per agent against the API server, what Felix runs without
//     Typha; QPS 1 by default, the K8sClientQPS Terway's patch 0002 gives its Felix.
//   - relay: one Endpoints GET of the Typha Service per agent (typha/pkg/discovery, Felix's own
//     discovery), then typha/pkg/syncclient per agent to an address found there.
//
// Each agent gets its own client and its own connection (real Felixes are separate processes):
// client-go shares one transport between clients whose TLS settings are equal, so every agent's
// kubeconfig carries the same CA with a different trailing comment, which PEM parsing ignores.
//
// Protocol (stdout, one JSON object per line):
//
//	{"event":"in-sync", ...}   once every agent is in sync, or at -timeout
//	{"event":"policy", ...}    with -policy: once every agent has seen it, or at -policy-timeout
//
// Then it waits for stdin to close (so a caller can measure the API server while the agents stay
// connected), stops the agents and exits. Exit status 1 means an agent never got in sync.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	log "github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/projectcalico/calico/libcalico-go/lib/apiconfig"
	"github.com/projectcalico/calico/libcalico-go/lib/backend"
	"github.com/projectcalico/calico/libcalico-go/lib/backend/api"
	"github.com/projectcalico/calico/libcalico-go/lib/backend/syncersv1/felixsyncer"
	"github.com/projectcalico/calico/typha/pkg/discovery"
	"github.com/projectcalico/calico/typha/pkg/syncclient"
	"github.com/projectcalico/calico/typha/pkg/syncproto"
)

// sourceHash is stamped by e2e/build-engine.sh (hash of this folder), so a report names its build.
var sourceHash = "unknown"

// Felix's version as the relay handshake reports it: the Felix inside Terway's policy image.
const felixVersion = "v3.24.5"

type options struct {
	mode, kubeconfig, namespace, service, policy string
	agents                                       int
	qps                                          float64
	timeout, policyTimeout                       time.Duration
}

// agent records what one simulated Felix saw; callbacks come from the syncer's goroutines.
type agent struct {
	mu         sync.Mutex
	started    time.Time
	inSyncAt   time.Time
	policyAt   time.Time
	updates    int
	policyName string // the key suffix of the NetworkPolicy to look for, "" for none
	typha      string // relay: the address it connected to
	err        error
}

func (a *agent) OnStatusUpdated(status api.SyncStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if status == api.InSync && a.inSyncAt.IsZero() {
		a.inSyncAt = time.Now()
	}
}

func (a *agent) OnUpdates(updates []api.Update) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.updates += len(updates)
	if a.policyName == "" || !a.policyAt.IsZero() {
		return
	}
	for _, u := range updates {
		if u.Key != nil && u.Value != nil && strings.HasSuffix(strings.TrimSuffix(u.Key.String(), ")"), a.policyName) {
			a.policyAt = time.Now()
			return
		}
	}
}

func (a *agent) snapshot() (inSync, policy time.Duration, updates int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.inSyncAt.IsZero() {
		inSync = a.inSyncAt.Sub(a.started)
	}
	if !a.policyAt.IsZero() {
		policy = time.Since(a.policyAt) // >0 once seen; the report uses the absolute time below
	}
	return inSync, policy, a.updates, a.err
}

// agentKubeconfigs returns one kubeconfig text per agent: the same cluster and user, with the CA
// bytes made distinct by a trailing comment so that client-go gives every agent its own transport.
func agentKubeconfigs(path string, n int) ([][]byte, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	for _, cluster := range cfg.Clusters {
		if len(cluster.CertificateAuthorityData) == 0 && cluster.CertificateAuthority != "" {
			if cluster.CertificateAuthorityData, err = os.ReadFile(cluster.CertificateAuthority); err != nil {
				return nil, err
			}
			cluster.CertificateAuthority = ""
		}
	}
	out := make([][]byte, n)
	base := map[string][]byte{}
	for name, cluster := range cfg.Clusters {
		base[name] = cluster.CertificateAuthorityData
	}
	for i := 0; i < n; i++ {
		for name, cluster := range cfg.Clusters {
			cluster.CertificateAuthorityData = append(append([]byte{}, base[name]...), []byte(fmt.Sprintf("\n# felixload agent %d\n", i))...)
		}
		if out[i], err = clientcmd.Write(*cfg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func startDirect(ctx context.Context, a *agent, kubeconfig []byte, qps float64) error {
	spec := apiconfig.CalicoAPIConfigSpec{DatastoreType: apiconfig.Kubernetes}
	spec.KubeconfigInline = string(kubeconfig)
	spec.K8sClientQPS = float32(qps)
	client, err := backend.NewClient(apiconfig.CalicoAPIConfig{Spec: spec})
	if err != nil {
		return err
	}
	syncer := felixsyncer.New(client, spec, a, true)
	syncer.Start()
	go func() { <-ctx.Done(); syncer.Stop() }()
	return nil
}

func startRelay(ctx context.Context, a *agent, kubeconfig []byte, o options, id int) error {
	rest, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	addrs, err := discovery.DiscoverTyphaAddrs(discovery.WithKubeClient(clientset), discovery.WithKubeService(o.namespace, o.service))
	if err != nil {
		return fmt.Errorf("typha discovery through %s/%s: %w", o.namespace, o.service, err)
	}
	hostname := fmt.Sprintf("felixload-%d", id)
	client := syncclient.New(addrs, felixVersion, hostname, "felixload", a, &syncclient.Options{SyncerType: syncproto.SyncerTypeFelix})
	if err := client.Start(ctx); err != nil {
		return err
	}
	a.mu.Lock()
	a.typha = fmt.Sprint(addrs)
	a.mu.Unlock()
	return nil
}

type report struct {
	Event       string         `json:"event"`
	Mode        string         `json:"mode"`
	Clients     int            `json:"clients"`
	InSync      int            `json:"inSync,omitempty"`
	Seen        int            `json:"seen,omitempty"`
	SeenAtStart int            `json:"seenBeforeCreated,omitempty"`
	Policy      string         `json:"policy,omitempty"`
	P50Ms       float64        `json:"p50Ms"`
	MaxMs       float64        `json:"maxMs"`
	Updates     int            `json:"updates,omitempty"`
	Typhas      map[string]int `json:"typhaAddresses,omitempty"`
	Errors      []string       `json:"errors,omitempty"`
	Build       string         `json:"build"`
}

func percentiles(values []time.Duration) (p50, max float64) {
	if len(values) == 0 {
		return 0, 0
	}
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(values[len(values)/2]), ms(values[len(values)-1])
}

func emit(r report) {
	r.Build = sourceHash
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

func waitInSync(agents []*agent, o options) report {
	deadline := time.Now().Add(o.timeout)
	for {
		done := 0
		for _, a := range agents {
			if d, _, _, err := a.snapshot(); d > 0 || err != nil {
				done++
			}
		}
		if done == len(agents) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := report{Event: "in-sync", Mode: o.mode, Clients: len(agents), Typhas: map[string]int{}}
	var times []time.Duration
	for i, a := range agents {
		d, _, updates, err := a.snapshot()
		r.Updates += updates
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("agent %d: %v", i, err))
		} else if d > 0 {
			r.InSync++
			times = append(times, d)
		}
		if a.typha != "" {
			r.Typhas[a.typha]++
		}
	}
	r.P50Ms, r.MaxMs = percentiles(times)
	return r
}

func waitPolicy(agents []*agent, o options, seenBefore int) report {
	start := time.Now()
	deadline := start.Add(o.policyTimeout)
	var seen []time.Duration
	for {
		seen = seen[:0]
		for _, a := range agents {
			a.mu.Lock()
			if !a.policyAt.IsZero() {
				seen = append(seen, a.policyAt.Sub(start))
			}
			a.mu.Unlock()
		}
		if len(seen) == len(agents) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := report{Event: "policy", Mode: o.mode, Clients: len(agents), Seen: len(seen), SeenAtStart: seenBefore, Policy: o.policy}
	r.P50Ms, r.MaxMs = percentiles(seen)
	return r
}

func parseFlags() (options, error) {
	var o options
	flag.StringVar(&o.mode, "mode", "relay", "direct (felixsyncer per agent against the API server) or relay (syncclient per agent through Typha)")
	flag.IntVar(&o.agents, "n", 50, "number of simulated Felix agents")
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the identity the agents use (Felix runs as kube-system/terway)")
	flag.Float64Var(&o.qps, "qps", 1, "direct: client QPS per agent (Terway's Felix: 1)")
	flag.StringVar(&o.namespace, "namespace", "kube-system", "relay: namespace of the Typha Service (Felix's default)")
	flag.StringVar(&o.service, "service", "calico-typha", "relay: the Typha Service (felix_relay_service)")
	flag.StringVar(&o.policy, "policy", "", "namespace/name of a Kubernetes NetworkPolicy to wait for after in-sync")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "how long to wait for every agent to be in sync")
	flag.DurationVar(&o.policyTimeout, "policy-timeout", 60*time.Second, "how long to wait for the policy to reach every agent")
	verbose := flag.Bool("v", false, "Calico's client logs at info level (default: errors only)")
	flag.Parse()
	log.SetLevel(log.ErrorLevel)
	if *verbose {
		log.SetLevel(log.InfoLevel)
	}
	if o.mode != "direct" && o.mode != "relay" {
		return o, fmt.Errorf("-mode must be direct or relay, not %q", o.mode)
	}
	if o.agents < 1 || o.kubeconfig == "" {
		return o, errors.New("-n must be >= 1 and -kubeconfig (or KUBECONFIG) set")
	}
	return o, nil
}

// policyKeySuffix is how libcalico-go names a Kubernetes NetworkPolicy: "<ns>/knp.default.<name>".
func policyKeySuffix(policy string) string {
	if policy == "" {
		return ""
	}
	ns, name, ok := strings.Cut(policy, "/")
	if !ok {
		ns, name = "default", policy
	}
	return ns + "/knp.default." + name
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "felixload:", err)
		os.Exit(2)
	}
	configs, err := agentKubeconfigs(o.kubeconfig, o.agents)
	if err != nil {
		fmt.Fprintln(os.Stderr, "felixload: reading the kubeconfig:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agents := make([]*agent, o.agents)
	var wg sync.WaitGroup
	for i := range agents {
		agents[i] = &agent{started: time.Now(), policyName: policyKeySuffix(o.policy)}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var err error
			if o.mode == "direct" {
				err = startDirect(ctx, agents[i], configs[i], o.qps)
			} else {
				err = startRelay(ctx, agents[i], configs[i], o, i)
			}
			if err != nil {
				agents[i].mu.Lock()
				agents[i].err = err
				agents[i].mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	synced := waitInSync(agents, o)
	emit(synced)
	if o.policy != "" {
		seenBefore := 0
		for _, a := range agents {
			if _, p, _, _ := a.snapshot(); p > 0 {
				seenBefore++
			}
		}
		emit(waitPolicy(agents, o, seenBefore))
	}
	// Hold the agents connected until the caller closes stdin.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	cancel()
	if synced.InSync != synced.Clients {
		os.Exit(1)
	}
}
