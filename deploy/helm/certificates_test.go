package helm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// certificate mirrors the fields of cert-manager.io/v1 Certificate that the chart sets.
type certificate struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		IsCA        bool     `json:"isCA"`
		CommonName  string   `json:"commonName"`
		SecretName  string   `json:"secretName"`
		Duration    string   `json:"duration"`
		RenewBefore string   `json:"renewBefore"`
		DNSNames    []string `json:"dnsNames"`
		Usages      []string `json:"usages"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy"`
		} `json:"privateKey"`
		IssuerRef struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
			Name  string `json:"name"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// issuer mirrors the fields of cert-manager.io/v1 Issuer that the chart sets.
type issuer struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SelfSigned *struct{} `json:"selfSigned"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca"`
	} `json:"spec"`
}

func TestCertManagerIssuesTheServingCertificate(t *testing.T) {
	r := mustRender(t, defaultRelease, withRegion(""))

	var selfSigned, caIssuer issuer
	r.decode(t, "Issuer", "privateguard-selfsigned", &selfSigned)
	r.decode(t, "Issuer", "privateguard-ca", &caIssuer)
	var ca, serving certificate
	r.decode(t, "Certificate", "privateguard-ca", &ca)
	r.decode(t, "Certificate", "privateguard-serving", &serving)

	for _, obj := range []metav1.TypeMeta{selfSigned.TypeMeta, caIssuer.TypeMeta, ca.TypeMeta, serving.TypeMeta} {
		if obj.APIVersion != "cert-manager.io/v1" {
			t.Errorf("%s apiVersion %q, want cert-manager.io/v1", obj.Kind, obj.APIVersion)
		}
	}
	for _, meta := range []metav1.ObjectMeta{selfSigned.Metadata, caIssuer.Metadata, ca.Metadata, serving.Metadata} {
		if meta.Namespace != "privateguard" {
			t.Errorf("%s is in namespace %q, want the release namespace", meta.Name, meta.Namespace)
		}
	}

	if selfSigned.Spec.SelfSigned == nil || selfSigned.Spec.CA != nil {
		t.Errorf("privateguard-selfsigned is not a selfSigned Issuer: %+v", selfSigned.Spec)
	}
	if !ca.Spec.IsCA || ca.Spec.IssuerRef.Kind != "Issuer" || ca.Spec.IssuerRef.Name != "privateguard-selfsigned" {
		t.Errorf("CA certificate = %+v, want isCA signed by the self-signed Issuer", ca.Spec)
	}
	if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName || ca.Spec.SecretName == "" {
		t.Errorf("CA Issuer signs with %+v, the CA certificate is in secret %q", caIssuer.Spec.CA, ca.Spec.SecretName)
	}
	if got := mustDuration(t, ca.Spec.Duration); got < 3*365*24*time.Hour {
		t.Errorf("CA lifetime %s, want a long-lived CA (at least three years)", got)
	}

	if serving.Spec.IsCA || serving.Spec.IssuerRef.Kind != "Issuer" || serving.Spec.IssuerRef.Name != "privateguard-ca" {
		t.Errorf("serving certificate = %+v, want a leaf signed by the CA Issuer", serving.Spec)
	}
	wantDNS := []string{
		"privateguard",
		"privateguard.privateguard",
		"privateguard.privateguard.svc",
		"privateguard.privateguard.svc.cluster.local",
	}
	if diff := cmp.Diff(wantDNS, serving.Spec.DNSNames); diff != "" {
		t.Errorf("serving dnsNames (-want +got):\n%s", diff)
	}
	if !slices.Contains(serving.Spec.Usages, "server auth") {
		t.Errorf("serving usages %v lack server auth", serving.Spec.Usages)
	}
	life, renew := mustDuration(t, serving.Spec.Duration), mustDuration(t, serving.Spec.RenewBefore)
	if renew <= 0 || renew >= life || life >= mustDuration(t, ca.Spec.Duration) {
		t.Errorf("serving lifetime %s renewed %s before expiry, CA lifetime %s", life, renew, ca.Spec.Duration)
	}

	tls := volume(t, deployment(t, r).Spec.Template.Spec, "tls")
	if tls.Secret == nil || tls.Secret.SecretName != serving.Spec.SecretName {
		t.Errorf("the server reads secret %+v, cert-manager writes %q", tls.Secret, serving.Spec.SecretName)
	}
}

// mustDuration parses a cert-manager duration (Go duration syntax).
func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}
