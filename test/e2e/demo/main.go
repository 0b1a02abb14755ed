// Command demo is `make demo`: it starts a real kube-apiserver, etcd and cert-manager,
// installs the chart with examples/policy.yaml through the Helm SDK, lets cert-manager
// issue the webhook's certificate, runs privateguard serve with it, then runs
// `kubectl apply -f` on each file of examples/workloads/ and shows kubectl's own output,
// each object followed by one line saying what privateguard did to it. Then it stops
// everything it started.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/test/framework"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	policy, err := os.ReadFile(filepath.Join(repo, "examples/policy.yaml"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	fmt.Fprintln(out, "Starting kube-apiserver, etcd and cert-manager, installing the chart with Helm, starting privateguard serve ...")
	start := time.Now()
	stack, err := framework.StartStack(ctx, framework.StackOptions{
		Repo: repo, Policy: policy, Release: "privateguard", Namespace: "privateguard",
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "\nStopping the webhook, cert-manager and the control plane.")
		stack.Stop()
	}()
	fmt.Fprintf(out, "Ready in %s: release %q installed; %s later cert-manager had issued its certificates and injected the CA into both webhook configurations; the webhook serves that certificate on %s.\n",
		time.Since(start).Round(100*time.Millisecond), stack.Release.Name, stack.IssuedIn.Round(100*time.Millisecond), stack.Webhook.Addr())
	fmt.Fprintln(out)
	if _, _, err := stack.Kubectl.Terminal(ctx, out, "get", "certificates", "-n", "privateguard"); err != nil {
		return err
	}

	c, err := client.New(stack.ControlPlane.Config, client.Options{})
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(repo, "examples/workloads/*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		objs, err := framework.DecodeManifest(data)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		rel, _ := filepath.Rel(repo, file)
		fmt.Fprintln(out)
		output, _, err := stack.Kubectl.Terminal(ctx, out, "apply", "-f", rel)
		if err != nil {
			return err
		}
		warned := strings.Contains(output, "Warning: ")
		for _, obj := range objs {
			fmt.Fprintf(out, "  → %s\n", explain(ctx, c, obj, warned))
		}
	}
	return nil
}

// judged are the kinds privateguard's webhooks see in this demo.
var judged = map[string]bool{
	"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "CronJob": true, "Ingress": true,
}

// explain says in one line what admission did to obj, which kubectl has just applied:
// read back from the API server (or, for a workload, from a dry-run pod made from its
// template, as its controller would create it). warned says kubectl printed warnings.
func explain(ctx context.Context, c client.Client, sent *unstructured.Unstructured, warned bool) string {
	name := fmt.Sprintf("%s %s", sent.GetKind(), objectName(sent))
	if !judged[sent.GetKind()] {
		return name + ": not judged by privateguard."
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(sent.GroupVersionKind())
	err := c.Get(ctx, client.ObjectKeyFromObject(sent), got)
	if apierrors.IsNotFound(err) {
		// Ask again, dry-run, for this object's own denial.
		err := c.Create(ctx, sent.DeepCopy(), client.DryRunAll)
		return fmt.Sprintf("%s: denied by %s, so it was not created.", name, rules(fmt.Sprint(err)))
	}
	if err != nil {
		return fmt.Sprintf("%s: %v", name, err)
	}
	warnings := ""
	if warned {
		warnings = ", with the warnings above"
	}
	if got.GetKind() == "Pod" {
		return fmt.Sprintf("%s: admitted%s%s.", name, changed(podChanges(sent, got), " as written"), warnings)
	}
	tmpl := template(sent)
	if tmpl == nil {
		return fmt.Sprintf("%s: admitted as written%s.", name, warnings)
	}
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"generateName": sent.GetName() + "-", "namespace": sent.GetNamespace()},
		"spec":     tmpl["spec"],
	}}
	sentPod := pod.DeepCopy()
	if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
		return fmt.Sprintf("%s: admitted, but its pods would be denied by %s.", name, rules(err.Error()))
	}
	return fmt.Sprintf("%s: admitted as written%s (templates are never mutated); its pods%s.", name, warnings, changed(podChanges(sentPod, pod), " are admitted as written"))
}

// changed is ": " and the changes, or none when there are none.
func changed(changes []string, none string) string {
	if len(changes) == 0 {
		return none
	}
	return ": " + strings.Join(changes, "; ")
}

var ruleID = regexp.MustCompile(`\[([a-z][a-z0-9-]*)\]`)

// rules names the rules of a denial message: "rule a" or "rules a, b".
func rules(msg string) string {
	ids := ruleIDs(msg)
	if len(ids) == 1 {
		return "rule " + ids[0]
	}
	return "rules " + strings.Join(ids, ", ")
}

// ruleIDs are the distinct [rule-id] tags of a denial message.
func ruleIDs(msg string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, m := range ruleID.FindAllStringSubmatch(msg, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			ids = append(ids, m[1])
		}
	}
	if len(ids) == 0 {
		return []string{"(none named)"}
	}
	return ids
}

// podChanges lists what the mutating webhook changed between the pod sent and the pod the
// API server stored.
func podChanges(sent, got *unstructured.Unstructured) []string {
	var before, after corev1.Pod
	if runtime.DefaultUnstructuredConverter.FromUnstructured(sent.Object, &before) != nil ||
		runtime.DefaultUnstructuredConverter.FromUnstructured(got.Object, &after) != nil {
		return nil
	}
	var rewritten, injected, appended []string
	for _, l := range [][2][]corev1.Container{
		{before.Spec.InitContainers, after.Spec.InitContainers},
		{before.Spec.Containers, after.Spec.Containers},
	} {
		for i := range min(len(l[0]), len(l[1])) {
			b, a := l[0][i], l[1][i]
			if b.Image != a.Image {
				rewritten = append(rewritten, b.Image+" → "+a.Image)
			}
			for _, e := range a.Env[min(len(b.Env), len(a.Env)):] {
				injected = appendNew(injected, e.Name+"="+e.Value)
			}
			for _, arg := range a.Args[min(len(b.Args), len(a.Args)):] {
				appended = appendNew(appended, arg)
			}
		}
	}
	var lines []string
	if len(rewritten) > 0 {
		lines = append(lines, "rewritten "+strings.Join(rewritten, ", "))
	}
	if len(injected) > 0 {
		lines = append(lines, "injected "+strings.Join(injected, " "))
	}
	if len(appended) > 0 {
		lines = append(lines, "appended "+strings.Join(appended, " "))
	}
	return lines
}

func appendNew(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

func template(obj *unstructured.Unstructured) map[string]any {
	for _, path := range [][]string{{"spec", "template"}, {"spec", "jobTemplate", "spec", "template"}} {
		if t, ok, _ := unstructured.NestedMap(obj.Object, path...); ok {
			return t
		}
	}
	return nil
}

func objectName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
