package backgroundaudit

import (
	"fmt"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/pkg/audit"
)

// The background audit's own client-side rate limit, well below admission's client's:
// a pass is some hundreds of list requests and a write per namespace with findings, and
// can take its time.
const (
	ClientQPS   = 5
	ClientBurst = 10
)

// NewScheme is the scheme of the kinds of policy.Kinds and of the OpenReports kinds.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	audit.AddToScheme(s)
	if err := reportsv1alpha1.AddToScheme(s); err != nil {
		panic(err) // static registrations: cannot fail
	}
	return s
}

// NewRESTMapper maps the kinds of policy.Kinds and Reports to their resources, without
// discovery.
func NewRESTMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{reportsv1alpha1.SchemeGroupVersion})
	gv := reportsv1alpha1.SchemeGroupVersion
	m.AddSpecific(gv.WithKind("Report"), gv.WithResource("reports"), gv.WithResource("report"), meta.RESTScopeNamespace)
	return meta.MultiRESTMapper{audit.RESTMapper(), m}
}

// NewClient returns the audit's own client for the cluster of cfg: its own rate limit
// (ClientQPS, ClientBurst) and user agent, so that a pass never takes admission's share.
func NewClient(cfg *rest.Config) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	cfg.RateLimiter = nil
	cfg.UserAgent += " background-audit"
	c, err := client.New(cfg, client.Options{Scheme: NewScheme(), Mapper: NewRESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("background audit client: %w", err)
	}
	return c, nil
}
