package image

import (
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/privateguard/privateguard/internal/imageconfig"
)

// baseFiles is everything the image holds besides the binary. The accounts have no home
// directory and no shell: nothing in the image may be written, and there is no shell.
func baseFiles(caBundle []byte) []file {
	uid, gid := strconv.Itoa(imageconfig.User), strconv.Itoa(imageconfig.Group)
	return []file{
		{Path: "/etc/passwd", Mode: dataMode, Data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				imageconfig.UserName + ":x:" + uid + ":" + gid + ":" + imageconfig.UserName + ":/nonexistent:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: dataMode, Data: []byte(
			"root:x:0:\n" +
				imageconfig.UserName + ":x:" + gid + ":\n")},
		{Path: DefaultCABundle, Mode: dataMode, Data: caBundle},
	}
}

// baseLayer is the layer of baseFiles, with the CA certificates read from caBundlePath.
// It is the same for every platform, so a registry stores it once.
func baseLayer(caBundlePath string, mtime time.Time) (v1.Layer, error) {
	pem, err := os.ReadFile(caBundlePath)
	if err != nil {
		return nil, fmt.Errorf("the CA bundle for the image: %w (install ca-certificates or pass another bundle)", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the CA bundle %s holds no PEM certificate", caBundlePath)
	}
	return newLayer(baseFiles(pem), mtime)
}

// binaryLayer is the layer holding the binary at imageconfig.Binary.
func binaryLayer(binaryPath string, mtime time.Time) (v1.Layer, error) {
	b, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, err
	}
	return newLayer([]file{{Path: imageconfig.Binary, Mode: execMode, Data: b}}, mtime)
}
