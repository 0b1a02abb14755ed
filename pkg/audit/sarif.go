package audit

import (
	"encoding/json"
	"io"
	"path/filepath"

	"github.com/privateguard/privateguard/pkg/policy"
)

// SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), the format of code
// scanning: GitHub's upload-sarif action, GitLab, Azure DevOps and IDE viewers read it.
// Only the parts privateguard fills are modelled.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// InformationURI is the project's home, named as the tool's in the SARIF log.
	InformationURI = "https://github.com/privateguard/privateguard"
)

// SARIF levels: enforce → error (admission denies), audit → warning (admission warns),
// and note for what admission changes or tells about an admitted object.
const (
	sarifError   = "error"
	sarifWarning = "warning"
	sarifNote    = "note"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	ShortDescription     sarifMessage       `json:"shortDescription"`
	FullDescription      sarifMessage       `json:"fullDescription"`
	Help                 sarifMessage       `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifMessage    `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties sarifProperties `json:"properties"`
	// Suppressions mark a violation an exception of the policy waives.
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

// sarifSuppression is a waived finding: kind external (the policy file), with the
// exception's name and reason as justification.
type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// sarifProperties is the result's property bag: the field and image at fault and the
// rule's mode, as in the JSON report.
type sarifProperties struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Image     string `json:"image,omitempty"`
	Mode      string `json:"mode,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLocation struct {
	// FullyQualifiedName is the object: Kind namespace/name.
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// WriteSARIF writes the report as a SARIF 2.1.0 log of one run: a rule per rule id with
// its help, and a result per finding, located at the object's file and, when known, its
// line (objects of stdin or of a cluster have only a logical location: the object).
// Violations are errors in enforce mode and warnings in audit mode; a change admission
// would make in audit mode is a warning too (the object would be admitted unchanged);
// changes made in enforce mode and warnings about admitted objects are notes.
// toolVersion is privateguard's version.
func (r *Report) WriteSARIF(w io.Writer, toolVersion string) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "privateguard",
			Version:        toolVersion,
			InformationURI: InformationURI,
			Rules:          sarifRules(),
		}},
		Results: []sarifResult{},
	}
	for i := range r.Results {
		res := &r.Results[i]
		for _, v := range res.Violations {
			run.Results = append(run.Results, res.sarifResult(v.Rule, levelOf(v.Mode), v.Message, v.Path.String(), v.Image, v.Mode))
		}
		for _, c := range res.Mutations {
			level, text := sarifNote, "admission changes "+c.Path.String()+": "+c.Description()+" ["+string(c.Rule)+"]"
			if c.Mode != policy.ModeEnforce {
				level, text = sarifWarning, "admission would change "+c.Path.String()+" (rule in audit mode, so the object is admitted unchanged): "+c.Description()+" ["+string(c.Rule)+"]"
			}
			run.Results = append(run.Results, res.sarifResult(c.Rule, level, text, c.Path.String(), c.From, c.Mode))
		}
		for _, wn := range res.Warnings {
			run.Results = append(run.Results, res.sarifResult(wn.Rule, sarifNote, wn.Message, wn.Path.String(), wn.Image, ""))
		}
		for _, x := range res.Exempt {
			sr := res.sarifResult(x.Rule, levelOf(policy.ModeEnforce), x.Message, x.Path.String(), "", "")
			sr.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: "exception " + x.Exception + ": " + x.Reason}}
			run.Results = append(run.Results, sr)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func levelOf(m policy.Mode) string {
	if m == policy.ModeEnforce {
		return sarifError
	}
	return sarifWarning
}

// sarifResult is one finding of res.
func (res *Result) sarifResult(rule policy.RuleID, level, text, path, image string, mode policy.Mode) sarifResult {
	loc := sarifLocation{LogicalLocations: []sarifLogicalLocation{{
		FullyQualifiedName: res.Kind + " " + res.Namespace + "/" + res.Name,
		Kind:               "object",
	}}}
	if res.Source != StdinSource && res.Source != ClusterSource && res.Source != "" {
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: filepath.ToSlash(res.Source)}}
		if res.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: res.Line}
		}
	}
	return sarifResult{
		RuleID:    string(rule),
		RuleIndex: ruleIndex(rule),
		Level:     level,
		Message:   sarifMessage{Text: text},
		Locations: []sarifLocation{loc},
		Properties: sarifProperties{
			Kind: res.Kind, Namespace: res.Namespace, Name: res.Name,
			Path: path, Image: image, Mode: string(mode),
		},
	}
}

// ruleIndex is the position of rule in policy.Rules, as in the run's rules.
func ruleIndex(rule policy.RuleID) int {
	for i, id := range policy.Rules {
		if id == rule {
			return i
		}
	}
	return -1
}

// sarifRules describes every rule, in the order of policy.Rules.
func sarifRules() []sarifRule {
	rules := make([]sarifRule, 0, len(policy.Rules))
	for _, id := range policy.Rules {
		d := ruleDocs[id]
		rules = append(rules, sarifRule{
			ID:                   string(id),
			ShortDescription:     sarifMessage{Text: d.short},
			FullDescription:      sarifMessage{Text: d.why},
			Help:                 sarifMessage{Text: d.help},
			DefaultConfiguration: sarifConfiguration{Level: sarifError},
		})
	}
	return rules
}

// ruleDoc is what a code-scanning view shows of a rule: what it checks, the requirement
// of a private cluster behind it (AWS's guide "Deploy private clusters with limited
// internet access"), and how to fix a finding.
type ruleDoc struct{ short, why, help string }

var ruleDocs = map[policy.RuleID]ruleDoc{
	policy.RuleImageRegistry: {
		"Images must come from an allowed private registry",
		"A private cluster must pull images from a container registry that is in its VPC: ECR through its VPC endpoints.",
		"Mirror the image into ECR (or an allowed registry) and reference it there, or add a rewrite rule (rewrite.rules) that maps its registry to an ECR pull-through cache.",
	},
	policy.RuleImageRegion: {
		"ECR images must be in the cluster's region",
		"ECR is reached through the VPC endpoints of the cluster's own region; an ECR registry of another region is unreachable, and dual-stack ECR hosts (.on.aws) have no PrivateLink endpoint.",
		"Replicate the repository to the cluster's region (ECR replication) and reference it there.",
	},
	policy.RuleImageRewrite: {
		"Public images are rewritten to their private mirrors",
		"Public images must be mirrored; admission rewrites public registries to ECR pull-through-cache prefixes and EKS add-on images to the add-on registry of the cluster's region.",
		"Reference the mirrored image directly, or let admission rewrite it (mode enforce). In audit mode the object is admitted unchanged and its image pull would fail.",
	},
	policy.RuleSTSRegionalEndpoint: {
		"IRSA pods must use the regional STS endpoint",
		"Pods with IAM roles for service accounts get credentials from AWS STS; the global STS endpoint is not reachable from a private cluster.",
		"Set AWS_STS_REGIONAL_ENDPOINTS=regional in every container of the pod (admission injects it in enforce mode), and do not set it to anything else.",
	},
	policy.RuleMarketplaceImage: {
		"AWS Marketplace metered images cannot run",
		"Metered AWS Marketplace images cannot reach the AWS Marketplace Metering Service from a private cluster.",
		"Use a non-metered edition of the software, mirrored into your own ECR.",
	},
	policy.RuleClusterAutoscalerStaticInstanceList: {
		"Cluster Autoscaler needs --aws-use-static-instance-list=true",
		"Cluster Autoscaler otherwise fetches the instance type list from a public endpoint.",
		"Add --aws-use-static-instance-list=true to the container's args (the Helm chart's extraArgs), or let admission append it (fix: true).",
	},
	policy.RuleLBControllerWAFShield: {
		"AWS Load Balancer Controller needs WAF and Shield off",
		"AWS WAF, WAFv2 and Shield have no VPC endpoint: the controller must run with --enable-shield=false --enable-waf=false --enable-wafv2=false.",
		"Set the chart values enableShield, enableWaf and enableWafv2 to false, or let admission append the flags (fix: true).",
	},
	policy.RuleALBCertificateDiscovery: {
		"ALB Ingresses serving HTTPS must name their certificate",
		"Certificate discovery from Ingress hosts needs ACM, which has no VPC endpoint.",
		"Set the alb.ingress.kubernetes.io/certificate-arn annotation, or certificateArn in the IngressClass's IngressClassParams.",
	},
}
