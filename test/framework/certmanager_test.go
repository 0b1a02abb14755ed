package framework

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

func certificate(name string, ready, reason, message string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": name, "namespace": "pg"},
		"spec": map[string]any{
			"secretName": name + "-tls",
			"issuerRef":  map[string]any{"name": "missing", "kind": "Issuer"},
		},
	}}
	if ready != "" {
		obj.Object["status"] = map[string]any{"conditions": []any{
			map[string]any{"type": "Ready", "status": ready, "reason": reason, "message": message},
		}}
	}
	return obj
}

func fakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{CertificateGVR: "CertificateList"}, objs...)
}

func TestWaitForCertificates(t *testing.T) {
	tests := []struct {
		name      string
		objs      []runtime.Object
		wantErr   []string // substrings of the error; none: Ready
		wantReady int
	}{
		{
			name:      "every certificate ready returns at once",
			objs:      []runtime.Object{certificate("ca", "True", "Ready", "up to date"), certificate("serving", "True", "Ready", "up to date")},
			wantReady: 2,
		},
		{
			name: "a certificate whose issuer does not exist names itself and its condition",
			objs: []runtime.Object{
				certificate("ca", "True", "Ready", "up to date"),
				certificate("serving", "False", "DoesNotExist", "Issuing certificate as Secret does not exist"),
			},
			wantErr: []string{"Certificate pg/serving (issuer Issuer/missing): Ready=false, reason DoesNotExist: Issuing certificate as Secret does not exist"},
		},
		{
			name:    "a certificate with no condition yet says so",
			objs:    []runtime.Object{certificate("serving", "", "", "")},
			wantErr: []string{"Certificate pg/serving (issuer Issuer/missing): no Ready condition yet"},
		},
		{
			name:    "no certificate at all is an error",
			wantErr: []string{"no Certificate in namespace pg"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const bound = 300 * time.Millisecond
			start := time.Now()
			got, err := WaitForCertificates(context.Background(), fakeDynamic(tt.objs...), "pg", bound)
			if took := time.Since(start); took > bound+2*time.Second {
				t.Errorf("the wait took %s, want it bounded by %s", took, bound)
			}
			if len(tt.wantErr) == 0 {
				if err != nil || len(got) != tt.wantReady {
					t.Fatalf("got %v, %v; want %d ready", got, err, tt.wantReady)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want one saying %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "Certificate pg/ca ") {
				t.Errorf("the error names a Ready certificate:\n%v", err)
			}
		})
	}
}
