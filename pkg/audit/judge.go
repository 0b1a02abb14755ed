package audit

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/privateguard/privateguard/pkg/policy"
)

// DefaultNamespace is where an object without a namespace is taken to be, unless the
// audit is told another one.
const DefaultNamespace = "default"

// Judge judges resources against p as admission would on CREATE, and reports. Objects
// without a namespace are taken to be in defaultNamespace ("" means DefaultNamespace).
// ServiceAccounts among resources, from any source, are gathered first: a pod or template
// whose service account carries eks.amazonaws.com/role-arn is an IRSA pod.
func Judge(p *policy.Policy, resources []Resource, defaultNamespace string) *Report {
	if defaultNamespace == "" {
		defaultNamespace = DefaultNamespace
	}
	j := judge{p: p, defaultNamespace: defaultNamespace, irsa: map[serviceAccountKey]bool{}}
	for _, r := range resources {
		if sa, ok := r.Object.(*corev1.ServiceAccount); ok {
			if _, annotated := sa.Annotations[policy.IRSARoleAnnotation]; annotated {
				j.irsa[serviceAccountKey{j.namespaceOf(sa), sa.Name}] = true
			}
		}
	}
	report := &Report{Results: []Result{}}
	for _, r := range resources {
		result, judged := j.judge(r)
		switch {
		case judged:
			report.Results = append(report.Results, result)
			report.Summary.add(&result)
		case !isServiceAccount(r):
			report.Summary.Skipped++
		}
	}
	return report
}

type serviceAccountKey struct{ namespace, name string }

type judge struct {
	p                *policy.Policy
	defaultNamespace string
	irsa             map[serviceAccountKey]bool
}

// Where each workload kind keeps its pod template.
var (
	templatePath        = field.NewPath("spec", "template")
	cronJobTemplatePath = field.NewPath("spec", "jobTemplate", "spec", "template")
)

// judge judges one resource; judged is false for kinds the engine does not judge and for
// mirror pods, which the kubelet runs whatever admission says.
func (j *judge) judge(r Resource) (result Result, judged bool) {
	var d policy.Decision
	switch obj := r.Object.(type) {
	case *corev1.Pod:
		if _, mirror := obj.Annotations[policy.MirrorPodAnnotation]; mirror {
			return Result{}, false
		}
		d = j.p.EvaluatePod(obj, nil, j.facts(obj, &obj.Spec))
	case *corev1.ReplicationController:
		if obj.Spec.Template != nil {
			d = j.template(obj, obj.Spec.Template, templatePath)
		}
	case *appsv1.Deployment:
		d = j.template(obj, &obj.Spec.Template, templatePath)
	case *appsv1.StatefulSet:
		d = j.template(obj, &obj.Spec.Template, templatePath)
	case *appsv1.DaemonSet:
		d = j.template(obj, &obj.Spec.Template, templatePath)
	case *appsv1.ReplicaSet:
		d = j.template(obj, &obj.Spec.Template, templatePath)
	case *batchv1.Job:
		d = j.template(obj, &obj.Spec.Template, templatePath)
	case *batchv1.CronJob:
		d = j.template(obj, &obj.Spec.JobTemplate.Spec.Template, cronJobTemplatePath)
	case *networkingv1.Ingress:
		d = j.p.ValidateIngress(obj, policy.Facts{Namespace: j.namespaceOf(obj)})
	default:
		return Result{}, false
	}
	meta := r.Object.(metav1.Object)
	gvk := r.Object.GetObjectKind().GroupVersionKind()
	result = Result{
		APIVersion: gvk.GroupVersion().String(),
		Kind:       gvk.Kind,
		Namespace:  j.namespaceOf(meta),
		Name:       meta.GetName(),
		Source:     r.Source,
		Allowed:    d.Allowed(),
		Violations: d.Violations,
		Mutations:  d.Changes,
	}
	if result.Violations == nil {
		result.Violations = []policy.Violation{}
	}
	if result.Mutations == nil {
		result.Mutations = []policy.Change{}
	}
	return result, true
}

func (j *judge) template(owner metav1.Object, tmpl *corev1.PodTemplateSpec, path *field.Path) policy.Decision {
	return j.p.EvaluatePodTemplate(tmpl, nil, path, j.facts(owner, &tmpl.Spec))
}

// facts are what admission's adapter would look up for a pod of spec in owner's
// namespace.
func (j *judge) facts(owner metav1.Object, spec *corev1.PodSpec) policy.Facts {
	ns := j.namespaceOf(owner)
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return policy.Facts{Namespace: ns, ServiceAccountIRSA: policy.IRSAOf(j.irsa[serviceAccountKey{ns, sa}])}
}

func (j *judge) namespaceOf(obj metav1.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return j.defaultNamespace
}

func isServiceAccount(r Resource) bool {
	_, ok := r.Object.(*corev1.ServiceAccount)
	return ok
}
