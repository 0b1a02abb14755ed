package admission

import (
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// workload is a kind that creates pods from a template: validated, so that a template
// whose pods would be denied fails at `kubectl apply` instead of leaving its controller
// unable to create pods.
type workload struct {
	// path locates the pod template in the object.
	path *field.Path
	// template decodes one object of the request and returns its namespace and its pod
	// template (nil when it has none).
	template func(raw runtime.RawExtension, what string) (string, *corev1.PodTemplateSpec, error)
}

var (
	templatePath    = field.NewPath("spec", "template")
	jobTemplatePath = field.NewPath("spec", "jobTemplate", "spec", "template")
)

// workloads are the seven workload kinds, at the versions the API server serves.
var workloads = map[schema.GroupVersionKind]workload{
	appsv1.SchemeGroupVersion.WithKind("Deployment"): {templatePath, templateOf(appsv1.SchemeGroupVersion.WithKind("Deployment"),
		func(o *appsv1.Deployment) *corev1.PodTemplateSpec { return &o.Spec.Template })},
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"): {templatePath, templateOf(appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		func(o *appsv1.StatefulSet) *corev1.PodTemplateSpec { return &o.Spec.Template })},
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"): {templatePath, templateOf(appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
		func(o *appsv1.DaemonSet) *corev1.PodTemplateSpec { return &o.Spec.Template })},
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"): {templatePath, templateOf(appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
		func(o *appsv1.ReplicaSet) *corev1.PodTemplateSpec { return &o.Spec.Template })},
	batchv1.SchemeGroupVersion.WithKind("Job"): {templatePath, templateOf(batchv1.SchemeGroupVersion.WithKind("Job"),
		func(o *batchv1.Job) *corev1.PodTemplateSpec { return &o.Spec.Template })},
	batchv1.SchemeGroupVersion.WithKind("CronJob"): {jobTemplatePath, templateOf(batchv1.SchemeGroupVersion.WithKind("CronJob"),
		func(o *batchv1.CronJob) *corev1.PodTemplateSpec { return &o.Spec.JobTemplate.Spec.Template })},
	corev1.SchemeGroupVersion.WithKind("ReplicationController"): {templatePath, templateOf(corev1.SchemeGroupVersion.WithKind("ReplicationController"),
		func(o *corev1.ReplicationController) *corev1.PodTemplateSpec { return o.Spec.Template })},
}

// templateOf builds a workload's template decoder from the accessor of its template.
func templateOf[T any, PT interface {
	*T
	runtime.Object
	metav1.Object
}](gvk schema.GroupVersionKind, get func(PT) *corev1.PodTemplateSpec) func(runtime.RawExtension, string) (string, *corev1.PodTemplateSpec, error) {
	return func(raw runtime.RawExtension, what string) (string, *corev1.PodTemplateSpec, error) {
		obj, err := decode[T, PT](raw, gvk, what)
		if err != nil {
			return "", nil, err
		}
		return obj.GetNamespace(), get(obj), nil
	}
}

// decodeTemplates decodes the workload's template and, on UPDATE, the template before it.
func (w workload) decodeTemplates(req *admission.Request) (namespace string, tmpl, old *corev1.PodTemplateSpec, err error) {
	namespace, tmpl, err = w.template(req.Object, "object")
	if err != nil {
		return "", nil, nil, err
	}
	if req.Operation == admissionv1.Update {
		if _, old, err = w.template(req.OldObject, "oldObject"); err != nil {
			return "", nil, nil, err
		}
	}
	return namespace, tmpl, old, nil
}
