package policy

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// KindRole says what the engine does with objects of a kind.
type KindRole int

const (
	// RolePod: judged as a pod (mutated and validated).
	RolePod KindRole = iota + 1
	// RoleWorkload: the pod template is judged as its pods would be after mutation;
	// validated only, never mutated.
	RoleWorkload
	// RoleIngress: validated for alb-certificate-discovery.
	RoleIngress
	// RoleFact: not judged; read for the facts it gives (a ServiceAccount's IRSA
	// annotation).
	RoleFact
)

// Kind is one kind of object privateguard reads, with everything the adapters need to
// route, decode, list and label it. Kinds is the one list of them: admission routing, the
// audit reader, judge and cluster lister, the metrics' kind label and the chart's webhook
// rules (by test) all range over it.
type Kind struct {
	// GVK is the kind at the version the API server serves and the webhooks register.
	GVK schema.GroupVersionKind
	// Resource is the lower-case plural resource name, as in webhook rules and RBAC.
	Resource string
	// Role says how the engine judges the kind.
	Role KindRole
	// Subresources are the subresources admission judges besides the object itself
	// (pods/ephemeralcontainers, written by `kubectl debug`).
	Subresources []string
	// ClusterScoped kinds have no namespace (IngressClass).
	ClusterScoped bool
	// Optional kinds are served by a CRD a cluster may not have (IngressClassParams):
	// listing them is skipped when the API server does not know them.
	Optional bool
	// TemplatePath locates the pod template of a workload; nil for other roles.
	TemplatePath *field.Path
	// Template returns a workload's pod template, nil when the object has none (a
	// ReplicationController may omit it). Nil for other roles.
	Template func(runtime.Object) *corev1.PodTemplateSpec
	// New returns an empty typed object of the kind; NewList an empty typed list.
	New, NewList func() runtime.Object
}

// Mutated reports whether the mutating webhook changes objects of the kind: pods only;
// workload templates are never mutated (no GitOps drift).
func (k *Kind) Mutated() bool { return k.Role == RolePod }

// Validated reports whether the validating webhook judges objects of the kind.
func (k *Kind) Validated() bool { return k.Role != RoleFact }

// The pod template paths of the workload kinds.
var (
	templatePath    = field.NewPath("spec", "template")
	jobTemplatePath = field.NewPath("spec", "jobTemplate", "spec", "template")
)

// EphemeralContainersSubresource is the pods subresource `kubectl debug` writes to.
const EphemeralContainersSubresource = "ephemeralcontainers"

// Kinds are the kinds privateguard reads, in the order `audit` reports them: facts first
// (service accounts for IRSA, IngressClasses and their parameters for ALB Ingresses),
// then workloads, pods and Ingresses.
var Kinds = []Kind{
	factKind[corev1.ServiceAccount, corev1.ServiceAccountList](corev1.SchemeGroupVersion.WithKind("ServiceAccount"), "serviceaccounts"),
	clusterScoped(factKind[networkingv1.IngressClass, networkingv1.IngressClassList](networkingv1.SchemeGroupVersion.WithKind("IngressClass"), "ingressclasses")),
	optional(clusterScoped(factKind[IngressClassParams, IngressClassParamsList](IngressClassParamsGVK, "ingressclassparams"))),
	workloadKind[appsv1.Deployment, appsv1.DeploymentList](appsv1.SchemeGroupVersion.WithKind("Deployment"), "deployments", templatePath,
		func(o *appsv1.Deployment) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	workloadKind[appsv1.StatefulSet, appsv1.StatefulSetList](appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "statefulsets", templatePath,
		func(o *appsv1.StatefulSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	workloadKind[appsv1.DaemonSet, appsv1.DaemonSetList](appsv1.SchemeGroupVersion.WithKind("DaemonSet"), "daemonsets", templatePath,
		func(o *appsv1.DaemonSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	workloadKind[appsv1.ReplicaSet, appsv1.ReplicaSetList](appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), "replicasets", templatePath,
		func(o *appsv1.ReplicaSet) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	workloadKind[corev1.ReplicationController, corev1.ReplicationControllerList](corev1.SchemeGroupVersion.WithKind("ReplicationController"), "replicationcontrollers", templatePath,
		func(o *corev1.ReplicationController) *corev1.PodTemplateSpec { return o.Spec.Template }),
	workloadKind[batchv1.CronJob, batchv1.CronJobList](batchv1.SchemeGroupVersion.WithKind("CronJob"), "cronjobs", jobTemplatePath,
		func(o *batchv1.CronJob) *corev1.PodTemplateSpec { return &o.Spec.JobTemplate.Spec.Template }),
	workloadKind[batchv1.Job, batchv1.JobList](batchv1.SchemeGroupVersion.WithKind("Job"), "jobs", templatePath,
		func(o *batchv1.Job) *corev1.PodTemplateSpec { return &o.Spec.Template }),
	{
		GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Resource: "pods", Role: RolePod,
		Subresources: []string{EphemeralContainersSubresource},
		New:          newOf[corev1.Pod], NewList: newOf[corev1.PodList],
	},
	{
		GVK: networkingv1.SchemeGroupVersion.WithKind("Ingress"), Resource: "ingresses", Role: RoleIngress,
		New: newOf[networkingv1.Ingress], NewList: newOf[networkingv1.IngressList],
	},
}

func clusterScoped(k Kind) Kind { k.ClusterScoped = true; return k }

func optional(k Kind) Kind { k.Optional = true; return k }

// kindsByGVK indexes Kinds.
var kindsByGVK = func() map[schema.GroupVersionKind]*Kind {
	m := make(map[schema.GroupVersionKind]*Kind, len(Kinds))
	for i := range Kinds {
		m[Kinds[i].GVK] = &Kinds[i]
	}
	return m
}()

// KindFor returns the kind of gvk, or nil when privateguard does not read it.
func KindFor(gvk schema.GroupVersionKind) *Kind { return kindsByGVK[gvk] }

// typedObject is a pointer to a typed API object.
type typedObject[T any] interface {
	*T
	runtime.Object
}

func newOf[T any, PT typedObject[T]]() runtime.Object { return PT(new(T)) }

func factKind[T, L any, PT typedObject[T], PL typedObject[L]](gvk schema.GroupVersionKind, resource string) Kind {
	return Kind{GVK: gvk, Resource: resource, Role: RoleFact, New: newOf[T, PT], NewList: newOf[L, PL]}
}

func workloadKind[T, L any, PT typedObject[T], PL typedObject[L]](gvk schema.GroupVersionKind, resource string,
	path *field.Path, template func(PT) *corev1.PodTemplateSpec) Kind {
	return Kind{
		GVK: gvk, Resource: resource, Role: RoleWorkload, TemplatePath: path,
		Template: func(obj runtime.Object) *corev1.PodTemplateSpec {
			typed, ok := obj.(PT)
			if !ok {
				return nil
			}
			return template(typed)
		},
		New: newOf[T, PT], NewList: newOf[L, PL],
	}
}
