package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/privateguard/privateguard/pkg/policy"
)

func testPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(packageDir + "/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// typed sets obj's apiVersion and kind, as the readers do.
func typed(obj runtime.Object, apiVersion, kind string) Resource {
	obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return Resource{Object: obj, Source: "test"}
}

func serviceAccount(namespace, name string, irsa bool) Resource {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if irsa {
		sa.Annotations = map[string]string{policy.IRSARoleAnnotation: "arn:aws:iam::111122223333:role/" + name}
	}
	return typed(sa, "v1", "ServiceAccount")
}

const ecrImage = "111122223333.dkr.ecr.us-west-2.amazonaws.com/app:1"

func testPod(namespace, name, serviceAccount string) Resource {
	return typed(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: ecrImage}},
		},
	}, "v1", "Pod")
}

func TestJudgeIRSAFromServiceAccounts(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		name      string
		resources []Resource
		wantIRSA  bool
	}{
		{"a pod of an annotated service account is IRSA",
			[]Resource{testPod("apps", "a", "uploader"), serviceAccount("apps", "uploader", true)}, true},
		{"a pod without serviceAccountName uses the default service account",
			[]Resource{serviceAccount("apps", "default", true), testPod("apps", "a", "")}, true},
		{"a service account of the same name in another namespace does not count",
			[]Resource{serviceAccount("other", "uploader", true), testPod("apps", "a", "uploader")}, false},
		{"a service account without the annotation is not IRSA",
			[]Resource{serviceAccount("apps", "uploader", false), testPod("apps", "a", "uploader")}, false},
		{"a service account absent from the input is not IRSA",
			[]Resource{testPod("apps", "a", "uploader")}, false},
		{"namespace-less service account and pod meet in the default namespace",
			[]Resource{serviceAccount("", "uploader", true), testPod("", "a", "uploader")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := Judge(p, tc.resources, "")
			if len(report.Results) != 1 {
				t.Fatalf("got %d results, want 1 (service accounts are not judged)", len(report.Results))
			}
			if got := report.Results[0].Mutated(); got != tc.wantIRSA {
				t.Errorf("mutated (STS variables injected) = %v, want %v: %+v", got, tc.wantIRSA, report.Results[0].Mutations)
			}
			if report.Summary.Skipped != 0 {
				t.Errorf("skipped = %d, want 0: service accounts are read, not skipped", report.Summary.Skipped)
			}
		})
	}
}

func TestJudgeTemplatesOfEveryWorkloadKind(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/x/app:1"}}}}
	meta := metav1.ObjectMeta{Namespace: "apps", Name: "w"}
	for _, tc := range []struct {
		resource Resource
		wantPath string
	}{
		{typed(&appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Template: tmpl}}, "apps/v1", "Deployment"), "spec.template.spec.containers[0].image"},
		{typed(&appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Template: tmpl}}, "apps/v1", "StatefulSet"), "spec.template.spec.containers[0].image"},
		{typed(&appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Template: tmpl}}, "apps/v1", "DaemonSet"), "spec.template.spec.containers[0].image"},
		{typed(&appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Template: tmpl}}, "apps/v1", "ReplicaSet"), "spec.template.spec.containers[0].image"},
		{typed(&corev1.ReplicationController{ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Template: &tmpl}}, "v1", "ReplicationController"), "spec.template.spec.containers[0].image"},
		{typed(&batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{Template: tmpl}}, "batch/v1", "Job"), "spec.template.spec.containers[0].image"},
		{typed(&batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}, "batch/v1", "CronJob"), "spec.jobTemplate.spec.template.spec.containers[0].image"},
	} {
		kind := tc.resource.Object.GetObjectKind().GroupVersionKind().Kind
		t.Run(kind+" is judged through its template", func(t *testing.T) {
			report := Judge(testPolicy(t), []Resource{tc.resource}, "")
			r := report.Results[0]
			if r.Kind != kind || r.Namespace != "apps" || r.Name != "w" || r.Allowed || len(r.Violations) != 1 || r.Violations[0].Path.String() != tc.wantPath {
				t.Errorf("got %+v, want %s apps/w denied at %s", r, kind, tc.wantPath)
			}
		})
	}
	t.Run("a ReplicationController without template is allowed", func(t *testing.T) {
		rc := typed(&corev1.ReplicationController{ObjectMeta: meta}, "v1", "ReplicationController")
		if r := Judge(testPolicy(t), []Resource{rc}, "").Results[0]; !r.Allowed {
			t.Errorf("got %+v, want allowed", r)
		}
	})
}

func TestJudgeSummary(t *testing.T) {
	class := "alb"
	mirror := testPod("apps", "mirror", "")
	mirror.Object.(*corev1.Pod).Annotations = map[string]string{policy.MirrorPodAnnotation: "x"}
	resources := []Resource{
		testPod("apps", "allowed", ""),
		typed(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rewritten"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}}}}, "v1", "Pod"),
		typed(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "denied-and-rewritten"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "ghcr.io/x/y"}}}}, "v1", "Pod"),
		typed(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "legacy-x", Name: "would-be-rewritten"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}}}}, "v1", "Pod"),
		typed(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "warned", Annotations: map[string]string{policy.ALBListenPortsAnnotation: `[{"HTTPS": 443}]`}}, Spec: networkingv1.IngressSpec{IngressClassName: &class, TLS: []networkingv1.IngressTLS{{}}}}, "networking.k8s.io/v1", "Ingress"),
		mirror,
		typed(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, "v1", "ConfigMap"),
		serviceAccount("apps", "default", false),
	}
	report := Judge(testPolicy(t), resources, "staging")

	want := Summary{Resources: 5, Denied: 1, Warned: 2, Mutated: 2, Skipped: 2}
	if report.Summary != want {
		t.Errorf("summary = %+v, want %+v", report.Summary, want)
	}
	if got := report.Results[1].Namespace; got != "staging" {
		t.Errorf("namespace of a namespace-less pod = %q, want the default namespace given, staging", got)
	}
	for _, r := range report.Results {
		if r.Violations == nil || r.Mutations == nil {
			t.Errorf("%s: violations and mutations must be empty lists, not nil (JSON [] not null)", r.Name)
		}
	}
}

// TestJudgeResolvesIngressClassesFromTheInput: audit -f reads the IngressClasses and
// IngressClassParams of its input as the controller would find them in the cluster.
func TestJudgeResolvesIngressClassesFromTheInput(t *testing.T) {
	group := policy.IngressClassParamsGVK.Group
	class := func(name, controller string, params string, isDefault bool) Resource {
		c := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if params != "" {
			c.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "IngressClassParams", Name: params}
		}
		if isDefault {
			c.Annotations = map[string]string{policy.DefaultIngressClassAnnotation: "true"}
		}
		return typed(c, "networking.k8s.io/v1", "IngressClass")
	}
	certParams := typed(&policy.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "with-cert"},
		Spec: runtime.RawExtension{Raw: []byte(`{"scheme":"internal","certificateArn":["arn:aws:acm:us-west-2:111122223333:certificate/abc"]}`)}},
		"elbv2.k8s.aws/v1beta1", "IngressClassParams")
	ingress := func(name string, className *string) Resource {
		return typed(&networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Annotations: map[string]string{policy.ALBListenPortsAnnotation: `[{"HTTPS": 443}]`}},
			Spec:       networkingv1.IngressSpec{IngressClassName: className},
		}, "networking.k8s.io/v1", "Ingress")
	}
	internal, certified, unknown, alb := "alb-internal", "alb-certified", "elsewhere", "alb"
	resources := []Resource{
		class("alb-internal", policy.ALBController, "", false),
		class("alb-certified", policy.ALBController, "with-cert", false),
		class("nginx", "k8s.io/ingress-nginx", "", true),
		certParams,
		ingress("by-controller", &internal),
		ingress("class-params-certificate", &certified),
		ingress("default-class-nginx", nil),
		ingress("not-in-input", &unknown),
		ingress("named-alb-not-in-input", &alb),
	}
	report := Judge(testPolicy(t), resources, "")
	got := map[string]bool{}
	for _, r := range report.Results {
		got[r.Name] = len(r.Violations) > 0
	}
	want := map[string]bool{
		"by-controller":            true,  // alb-internal's controller is ingress.k8s.aws/alb
		"class-params-certificate": false, // its IngressClassParams name the certificate
		"default-class-nginx":      false, // the default class is nginx's
		"not-in-input":             false, // unknown, and not named alb
		"named-alb-not-in-input":   true,  // unknown, named alb
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("Ingress %s: violation %v, want %v", name, got[name], w)
		}
	}
}

// TestWriteJSONIsTheIndentedReport: the report written result by result is byte for byte
// what encoding/json writes for the whole report, empty or not.
func TestWriteJSONIsTheIndentedReport(t *testing.T) {
	full := JudgeAt(testPolicy(t), []Resource{
		typed(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "a"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}, "v1", "Pod"),
		typed(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "b"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "ghcr.io/x/<y>:1"}}}}, "v1", "Pod"),
	}, "", time.Time{})
	for name, r := range map[string]*Report{"empty": {Results: []Result{}}, "two results": full} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: WriteJSON differs from encoding/json:\n--- got\n%s\n--- want\n%s", name, got.String(), want.String())
		}
	}
}
