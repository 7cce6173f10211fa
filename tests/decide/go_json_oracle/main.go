package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// Reads one Go-quoted string per line; prints OK <re-marshalled> or ERR <error>.
func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		s, err := strconv.Unquote(sc.Text())
		if err != nil {
			fmt.Println("BADLINE", err)
			continue
		}
		var v interface{}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			fmt.Println("ERR", err)
			continue
		}
		out, _ := json.Marshal(v)
		fmt.Println("OK", string(out))
	}
}
