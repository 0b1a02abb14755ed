package admission

import (
	"fmt"
	"strconv"
	"strings"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/privateguard/privateguard/pkg/policy"
)

// podPatch turns the enforced changes the engine decided for a pod into JSON patch
// operations (RFC 6902) on the request's object. Each operation touches one field:
//
//   - an image: replace /spec/<list>/<i>/image;
//   - env or args the container already has: add /spec/<list>/<i>/env/- per item, so
//     what is there is never rewritten;
//   - env or args the container does not have (absent, null or empty): one
//     add /spec/<list>/<i>/env with every new item, since /- needs an array to append to.
//
// A whole container list is never replaced, and no diff of the whole document is made:
// that would rewrite fields the engine never touched (defaults, key order, unknown
// fields) and race with other mutating webhooks. Applying the operations to the object
// gives what policy.ApplyChanges gives on its typed form.
func podPatch(spec *corev1.PodSpec, changes []policy.Change) ([]jsonpatch.JsonPatchOperation, error) {
	type listKey struct {
		ref  policy.ContainerRef
		kind policy.ChangeKind
	}
	var ops []jsonpatch.JsonPatchOperation
	created := map[listKey]int{} // the index in ops of the add that created the list
	for i := range changes {
		ch := &changes[i]
		if ch.Mode != policy.ModeEnforce {
			continue
		}
		c, ok := containerAt(spec, ch.Container)
		if !ok {
			return nil, fmt.Errorf("change %s: no container %s[%d] in the pod", ch.Path, ch.Container.List, ch.Container.Index)
		}
		base := jsonPointer("spec", string(ch.Container.List), strconv.Itoa(ch.Container.Index))
		key := listKey{ch.Container, ch.Kind}
		switch ch.Kind {
		case policy.SetImage:
			ops = append(ops, jsonpatch.NewOperation("replace", base+"/image", ch.To))
		case policy.AddEnv:
			item := corev1.EnvVar{Name: ch.EnvName, Value: ch.To}
			switch at, ok := created[key]; {
			case len(c.env) > 0:
				ops = append(ops, jsonpatch.NewOperation("add", base+"/env/-", item))
			case ok:
				ops[at].Value = append(ops[at].Value.([]corev1.EnvVar), item)
			default:
				created[key] = len(ops)
				ops = append(ops, jsonpatch.NewOperation("add", base+"/env", []corev1.EnvVar{item}))
			}
		case policy.AddArg:
			switch at, ok := created[key]; {
			case len(c.args) > 0:
				ops = append(ops, jsonpatch.NewOperation("add", base+"/args/-", ch.To))
			case ok:
				ops[at].Value = append(ops[at].Value.([]string), ch.To)
			default:
				created[key] = len(ops)
				ops = append(ops, jsonpatch.NewOperation("add", base+"/args", []string{ch.To}))
			}
		default:
			return nil, fmt.Errorf("change %s: unknown change kind %d", ch.Path, ch.Kind)
		}
	}
	return ops, nil
}

// containerFields are the fields of a container, of any of the three lists, that
// patches and messages read, as in the request.
type containerFields struct {
	name string
	env  []corev1.EnvVar
	args []string
}

// containerAt finds the container ref points at.
func containerAt(spec *corev1.PodSpec, ref policy.ContainerRef) (containerFields, bool) {
	i := ref.Index
	switch ref.List {
	case policy.InitContainers:
		if i >= 0 && i < len(spec.InitContainers) {
			c := &spec.InitContainers[i]
			return containerFields{c.Name, c.Env, c.Args}, true
		}
	case policy.Containers:
		if i >= 0 && i < len(spec.Containers) {
			c := &spec.Containers[i]
			return containerFields{c.Name, c.Env, c.Args}, true
		}
	case policy.EphemeralContainers:
		if i >= 0 && i < len(spec.EphemeralContainers) {
			c := &spec.EphemeralContainers[i].EphemeralContainerCommon
			return containerFields{c.Name, c.Env, c.Args}, true
		}
	}
	return containerFields{}, false
}

// pointerEscaper escapes a reference token of a JSON pointer (RFC 6901 §3): ~ as ~0 and
// / as ~1, in one pass, so that an escaped ~1 is never read back as /.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// jsonPointer builds a JSON pointer from unescaped reference tokens.
func jsonPointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(t))
	}
	return b.String()
}
