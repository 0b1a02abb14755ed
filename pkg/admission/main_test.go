package admission

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestMain(m *testing.M) {
	// Without a logger, controller-runtime keeps every derived logger until one is set:
	// a fuzz run would pile up millions of them.
	logf.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
