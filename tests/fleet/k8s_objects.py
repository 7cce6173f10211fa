"""Kubernetes objects and capacity outputs as the health gates read them (JSON dicts), for the fleet tests."""


def deployment(replicas=3, ready=3, updated=3, available=3, generation=2, observed=2):
    return {"metadata": {"generation": generation}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "readyReplicas": ready, "updatedReplicas": updated,
                       "availableReplicas": available}}


def daemon_set(desired=6, updated=6, available=6, unavailable=0, strategy="RollingUpdate", generation=3, observed=3):
    return {"metadata": {"generation": generation},
            "spec": {"updateStrategy": {"type": strategy, "rollingUpdate": {"maxUnavailable": 1}}},
            "status": {"observedGeneration": observed, "desiredNumberScheduled": desired, "updatedNumberScheduled": updated,
                       "numberAvailable": available, "numberUnavailable": unavailable, "numberReady": available}}


def zone(**figures):
    base = {"nodes": 4, "nodesByMode": {"shared": 4, "exclusive": 0, "prefix": 0}, "nodesByInstanceType": {"ecs.g7.4xlarge": 4},
            "maxPodsPerNode": {"ecs.g7.4xlarge shared": 210}, "nodesCanAttachEni": 4, "nodesAtEniLimit": 0,
            "nodesEniStateUnknown": 0, "minPoolSize": 10, "warmIps": 40, "vswitches": ["vsw-a"], "newVSwitchCidrs": [],
            "availableIps": 1000, "addedIps": 0, "newEniIps": 840, "addedUsableIps": 0, "usableHeadroomIps": 1000,
            "worstCaseIps": 840, "trunkMemberEnis": 0, "unknown": []}
    return {**base, **figures}
