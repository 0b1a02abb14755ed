// Command demo is `make demo`: it starts a real kube-apiserver and etcd, installs the
// chart with examples/policy.yaml, runs privateguard serve against it, applies
// examples/workloads/ one object at a time and shows what happened to each: denied and
// why, rewritten from → to, injected, warned. Then it stops everything it started.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/privateguard/privateguard/test/framework"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	policy, err := os.ReadFile(filepath.Join(repo, "examples/policy.yaml"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fmt.Fprintln(out, "Starting kube-apiserver and etcd, installing the chart, starting privateguard serve ...")
	start := time.Now()
	stack, err := framework.StartStack(ctx, framework.StackOptions{
		Repo: repo, Policy: policy, Release: "privateguard", Namespace: "privateguard",
	})
	if err != nil {
		return err
	}
	defer stack.Stop()
	fmt.Fprintf(out, "Ready in %s: the chart's %d objects applied, webhooks registered at %s, policy examples/policy.yaml.\n",
		time.Since(start).Round(100*time.Millisecond), len(stack.Objects), stack.Webhook.Addr())

	warned := &framework.Warnings{}
	cfg := rest.CopyConfig(stack.ControlPlane.Config)
	cfg.WarningHandler = warned
	c, err := client.New(cfg, client.Options{})
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
		fmt.Fprintf(out, "\n── applying %s\n", rel)
		for _, obj := range objs {
			apply(ctx, out, c, warned, obj)
		}
	}
	fmt.Fprintln(out, "\nStopping the webhook and the control plane.")
	return nil
}

// apply creates one object and says what admission did to it.
func apply(ctx context.Context, out io.Writer, c client.Client, warned *framework.Warnings, obj *unstructured.Unstructured) {
	name := fmt.Sprintf("%s %s", obj.GetKind(), objectName(obj))
	sent := obj.DeepCopy()
	warned.Reset()
	err := c.Create(ctx, obj)
	if err != nil {
		fmt.Fprintf(out, "  ✗ %s: DENIED\n", name)
		for _, m := range denialMessages(err) {
			fmt.Fprintf(out, "      %s\n", m)
		}
		return
	}
	verdict := "created"
	if len(warned.List()) > 0 {
		verdict = "created, with warnings"
	}
	fmt.Fprintf(out, "  ✓ %s: %s\n", name, verdict)
	for _, w := range warned.List() {
		fmt.Fprintf(out, "      warned: %s\n", w)
	}
	if obj.GetKind() == "Pod" {
		for _, line := range podChanges(sent, obj) {
			fmt.Fprintf(out, "      %s\n", line)
		}
		return
	}
	// A workload's template is never mutated; show what its pods would become, with a
	// dry-run pod made from the template, as the workload's controller would create it.
	tmpl := template(obj)
	if tmpl == nil {
		return
	}
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"generateName": obj.GetName() + "-", "namespace": obj.GetNamespace()},
		"spec":     tmpl["spec"],
	}}
	sentPod := pod.DeepCopy()
	warned.Reset()
	if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
		fmt.Fprintf(out, "      its pods would be denied: %s\n", strings.Join(denialMessages(err), "; "))
		return
	}
	changes := podChanges(sentPod, pod)
	if len(changes) > 0 {
		fmt.Fprintln(out, "      its pods (the template stays as applied):")
	}
	for _, line := range changes {
		fmt.Fprintf(out, "        %s\n", line)
	}
}

// podChanges lists what the mutating webhook changed between the pod sent and the pod
// the API server stored.
func podChanges(sent, got *unstructured.Unstructured) []string {
	var before, after corev1.Pod
	if runtime.DefaultUnstructuredConverter.FromUnstructured(sent.Object, &before) != nil ||
		runtime.DefaultUnstructuredConverter.FromUnstructured(got.Object, &after) != nil {
		return nil
	}
	var lines []string
	lists := []struct {
		name          string
		before, after []corev1.Container
	}{
		{"initContainers", before.Spec.InitContainers, after.Spec.InitContainers},
		{"containers", before.Spec.Containers, after.Spec.Containers},
	}
	for _, l := range lists {
		for i := range min(len(l.before), len(l.after)) {
			b, a := l.before[i], l.after[i]
			if b.Image != a.Image {
				lines = append(lines, fmt.Sprintf("rewritten: spec.%s[%d].image %s → %s", l.name, i, b.Image, a.Image))
			}
			for _, e := range a.Env[min(len(b.Env), len(a.Env)):] {
				lines = append(lines, fmt.Sprintf("injected:  spec.%s[%d].env %s=%s", l.name, i, e.Name, e.Value))
			}
			for _, arg := range a.Args[min(len(b.Args), len(a.Args)):] {
				lines = append(lines, fmt.Sprintf("appended:  spec.%s[%d].args %s", l.name, i, arg))
			}
		}
	}
	return lines
}

func template(obj *unstructured.Unstructured) map[string]any {
	for _, path := range [][]string{{"spec", "template"}, {"spec", "jobTemplate", "spec", "template"}} {
		if t, ok, _ := unstructured.NestedMap(obj.Object, path...); ok {
			return t
		}
	}
	return nil
}

// denialMessages is the webhook's message split into its violations.
func denialMessages(err error) []string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "denied the request: "); ok {
		msg = after
	}
	var out []string
	for _, m := range strings.Split(msg, "\n") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

func objectName(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
