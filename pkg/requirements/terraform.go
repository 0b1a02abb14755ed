package requirements

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/privateguard/privateguard/pkg/policy"
)

// WriteTerraform writes the requirements as Terraform (AWS provider) configuration:
// an aws_ecr_pull_through_cache_rule per cache rule, an aws_vpc_endpoint per endpoint,
// and the variables they need, formatted as `terraform fmt` formats it.
func (r *Requirements) WriteTerraform(w io.Writer) error {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	comment(body, fmt.Sprintf("What the AWS side of the private cluster needs, in %s. Written by privateguard requirements.", r.Region))
	body.AppendNewline()

	names := map[string]int{}
	if len(r.VPCEndpoints) > 0 {
		variable(body, "vpc_id", "string", "The VPC of the cluster.")
		if needsType(r.VPCEndpoints, Interface) {
			variable(body, "subnet_ids", "list(string)", "The subnets of the interface endpoints: the cluster's private subnets, one per Availability Zone.")
			variable(body, "security_group_ids", "list(string)", "The security groups of the interface endpoints: they must allow HTTPS (443) from the nodes and pods.")
		}
		if needsType(r.VPCEndpoints, Gateway) {
			variable(body, "route_table_ids", "list(string)", "The route tables of the cluster's private subnets, for the S3 gateway endpoint.")
		}
	}
	var rules []*hclwrite.Block
	for i := range r.PullThroughCacheRules {
		c := &r.PullThroughCacheRules[i]
		name := unique(names, identifier(c.ECRRepositoryPrefix))
		block := hclwrite.NewBlock("resource", []string{"aws_ecr_pull_through_cache_rule", name})
		b := block.Body()
		comment(b, fmt.Sprintf("%s (%s) for %s, in %s.", c.UpstreamName, c.From, c.Field, c.Registry))
		b.SetAttributeValue("ecr_repository_prefix", cty.StringVal(c.ECRRepositoryPrefix))
		b.SetAttributeValue("upstream_registry_url", cty.StringVal(c.UpstreamRegistryURL))
		if c.UpstreamRepositoryPrefix != "" {
			b.SetAttributeValue("upstream_repository_prefix", cty.StringVal(c.UpstreamRepositoryPrefix))
		}
		switch c.Credential {
		case policy.CredentialSecret:
			v := name + "_credential_arn"
			variable(body, v, "string", fmt.Sprintf("The ARN of the Secrets Manager secret with the %s credential: its name must begin with %s, in the account and region of the rule.", c.UpstreamName, c.SecretNamePrefix))
			b.SetAttributeTraversal("credential_arn", varRef(v))
		case policy.CredentialIAMRole:
			v := name + "_role_arn"
			variable(body, v, "string", fmt.Sprintf("The ARN of the IAM role ECR assumes to read the upstream registry %s (another account).", c.UpstreamRegistryURL))
			b.SetAttributeTraversal("custom_role_arn", varRef(v))
		}
		rules = append(rules, block)
	}
	for _, block := range rules {
		body.AppendBlock(block)
		body.AppendNewline()
	}
	for i := range r.VPCEndpoints {
		e := &r.VPCEndpoints[i]
		block := body.AppendNewBlock("resource", []string{"aws_vpc_endpoint", unique(names, identifier(e.Service))})
		b := block.Body()
		for _, ev := range e.Evidence {
			comment(b, ev.Object()+": "+strings.Join(ev.Reasons, "; "))
		}
		b.SetAttributeTraversal("vpc_id", varRef("vpc_id"))
		b.SetAttributeValue("service_name", cty.StringVal(e.ServiceName))
		b.SetAttributeValue("vpc_endpoint_type", cty.StringVal(string(e.Type)))
		if e.Type == Gateway {
			b.SetAttributeTraversal("route_table_ids", varRef("route_table_ids"))
		} else {
			b.SetAttributeValue("private_dns_enabled", cty.True)
			b.SetAttributeTraversal("subnet_ids", varRef("subnet_ids"))
			b.SetAttributeTraversal("security_group_ids", varRef("security_group_ids"))
		}
		body.AppendNewline()
	}
	_, err := w.Write(hclwrite.Format(trimTrailingBlankLines(f.Bytes())))
	return err
}

// variable appends a variable block.
func variable(body *hclwrite.Body, name, typ, description string) {
	b := body.AppendNewBlock("variable", []string{name}).Body()
	if fn, arg, ok := strings.Cut(strings.TrimSuffix(typ, ")"), "("); ok {
		b.SetAttributeRaw("type", hclwrite.TokensForFunctionCall(fn, hclwrite.TokensForIdentifier(arg)))
	} else {
		b.SetAttributeRaw("type", hclwrite.TokensForIdentifier(typ))
	}
	b.SetAttributeValue("description", cty.StringVal(description))
	body.AppendNewline()
}

// comment appends a # comment line, one line whatever the text.
func comment(body *hclwrite.Body, text string) {
	text = strings.ReplaceAll(text, "\n", " ")
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}})
}

func varRef(name string) hcl.Traversal {
	return hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: name}}
}

func needsType(endpoints []EndpointNeed, t EndpointType) bool {
	for _, e := range endpoints {
		if e.Type == t {
			return true
		}
	}
	return false
}

// identifier makes a Terraform name of s: letters, digits and underscores, starting
// with a letter.
func identifier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	id := b.String()
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		id = "r_" + id
	}
	return id
}

// unique returns name, or name_2, name_3... when it is taken.
func unique(taken map[string]int, name string) string {
	taken[name]++
	if n := taken[name]; n > 1 {
		return unique(taken, fmt.Sprintf("%s_%d", name, n))
	}
	return name
}

func trimTrailingBlankLines(b []byte) []byte {
	s := strings.TrimRight(string(b), "\n")
	return []byte(s + "\n")
}
