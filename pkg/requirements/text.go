package requirements

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/privateguard/privateguard/pkg/policy"
)

// WriteJSON writes the requirements as one indented JSON object.
func (r *Requirements) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the requirements for people: the cache rules as a table, then each
// endpoint with the objects that need it.
func (r *Requirements) WriteText(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "What the AWS side of the private cluster needs, in %s.\n\n", r.Region)
	if len(r.PullThroughCacheRules) == 0 {
		b.WriteString("ECR pull-through cache rules: none (no rewrite rule with pullThroughCache).\n")
	} else {
		fmt.Fprintf(b, "ECR pull-through cache rules (%d), in registry %s:\n", len(r.PullThroughCacheRules), registries(r.PullThroughCacheRules))
		tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ECR REPOSITORY PREFIX\tUPSTREAM REGISTRY URL\tUPSTREAM\tCREDENTIAL\tFOR")
		for _, c := range r.PullThroughCacheRules {
			url := c.UpstreamRegistryURL
			if c.UpstreamRepositoryPrefix != "" {
				url += " (repository prefix " + c.UpstreamRepositoryPrefix + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s (%s)\n", c.ECRRepositoryPrefix, url, c.Upstream, credentialText(&c), c.From, c.Field)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\n")
	if len(r.VPCEndpoints) == 0 {
		b.WriteString("VPC endpoints: none needed by these objects.\n")
	} else {
		fmt.Fprintf(b, "VPC endpoints (%d):\n", len(r.VPCEndpoints))
		for _, e := range r.VPCEndpoints {
			fmt.Fprintf(b, "  %s (%s)\n", e.ServiceName, e.Type)
			for _, ev := range e.Evidence {
				where := ev.Source
				if ev.Line > 0 {
					where = fmt.Sprintf("%s:%d", ev.Source, ev.Line)
				}
				fmt.Fprintf(b, "    %s (%s): %s\n", ev.Object(), where, strings.Join(ev.Reasons, "; "))
			}
		}
	}
	b.WriteString("\nNot seen: the AWS APIs applications call through their own SDKs; add their endpoints yourself.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// credentialText says what a cache rule needs to read its upstream.
func credentialText(c *CacheRule) string {
	switch c.Credential {
	case policy.CredentialSecret:
		return "Secrets Manager secret " + c.SecretNamePrefix + "<name>"
	case policy.CredentialIAMRole:
		return "IAM role (upstream of another account)"
	}
	return "none"
}

// registries lists the ECR registries the rules are created in.
func registries(rules []CacheRule) string {
	var list []string
	for _, c := range rules {
		if !contains(list, c.Registry) {
			list = append(list, c.Registry)
		}
	}
	return strings.Join(list, ", ")
}
