package policy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// container is the engine's view of one container of a pod spec: the fields the rules
// read, as they are after the mutations applied so far. Slices are never written in
// place: a mutation replaces them, so the caller's object is never changed.
type container struct {
	ref     ContainerRef
	name    string
	image   string
	command []string
	args    []string
	env     []corev1.EnvVar
	// addedEnv are the variables the mutation appends to env, kept apart so that a
	// container with many variables is not copied.
	addedEnv []corev1.EnvVar
	// envFrom: the container takes variables from ConfigMaps or Secrets.
	envFrom bool
	// judged is false for a container an UPDATE leaves as it was: it is not checked.
	judged bool

	// class is the policy's classification of image, looked up once.
	class *imageClass
	// cmdline is the command line as the add-on binaries read it, parsed once.
	cmdline *commandLine
}

// imageClass is the policy's classification of the container's image, looked up once.
func (c *container) imageClass(cache *imageCache) *imageClass {
	if c.class == nil {
		c.class = cache.class(c.image)
	}
	return c.class
}

// hasEnv reports whether env names the variable.
func (c *container) hasEnv(name string) bool {
	v, _ := c.lookupEnv(name)
	return v != nil
}

// lookupEnv finds the entry for name that takes effect (the last one) and its index in
// the container's env after mutation, or nil.
func (c *container) lookupEnv(name string) (*corev1.EnvVar, int) {
	for i := len(c.addedEnv) - 1; i >= 0; i-- {
		if c.addedEnv[i].Name == name {
			return &c.addedEnv[i], len(c.env) + i
		}
	}
	for i := len(c.env) - 1; i >= 0; i-- {
		if c.env[i].Name == name {
			return &c.env[i], i
		}
	}
	return nil, -1
}

// addEnv appends variables to the view.
func (c *container) addEnv(vars ...corev1.EnvVar) {
	c.addedEnv = append(c.addedEnv, vars...)
}

// addArgs appends arguments without touching the caller's slice.
func (c *container) addArgs(args ...string) {
	c.args = append(slices.Clip(c.args), args...)
	c.cmdline = nil
}

// path is the container's field path below the pod spec at spec.
func (c *container) path(spec *field.Path) *field.Path {
	return spec.Child(string(c.ref.List)).Index(c.ref.Index)
}

// podContainers visits init, regular and ephemeral containers, in that order.
func podContainers(spec *corev1.PodSpec) []container {
	out := make([]container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	for i := range spec.InitContainers {
		out = append(out, fromContainer(InitContainers, i, &spec.InitContainers[i]))
	}
	for i := range spec.Containers {
		out = append(out, fromContainer(Containers, i, &spec.Containers[i]))
	}
	for i := range spec.EphemeralContainers {
		e := &spec.EphemeralContainers[i].EphemeralContainerCommon
		out = append(out, container{
			ref: ContainerRef{EphemeralContainers, i}, name: e.Name, image: e.Image,
			command: e.Command, args: e.Args, env: e.Env, envFrom: len(e.EnvFrom) > 0, judged: true,
		})
	}
	return out
}

func fromContainer(list ContainerList, i int, c *corev1.Container) container {
	return container{
		ref: ContainerRef{list, i}, name: c.Name, image: c.Image,
		command: c.Command, args: c.Args, env: c.Env, envFrom: len(c.EnvFrom) > 0, judged: true,
	}
}

// oldContainer finds the container of the same name in the same list of the old spec.
func oldContainer(old []container, c *container) *container {
	for i := range old {
		if old[i].ref.List == c.ref.List && old[i].name == c.name {
			return &old[i]
		}
	}
	return nil
}

// markChanged leaves judged only the containers an UPDATE adds or changes. For a pod only
// the image can change; for a workload template, any field the rules read.
func markChanged(cs, old []container, imageOnly bool) {
	for i := range cs {
		o := oldContainer(old, &cs[i])
		if o == nil {
			continue
		}
		same := o.image == cs[i].image
		if !imageOnly {
			same = same && slices.Equal(o.command, cs[i].command) && slices.Equal(o.args, cs[i].args) &&
				slices.EqualFunc(o.env, cs[i].env, envEqual)
		}
		cs[i].judged = !same
	}
}

func envEqual(a, b corev1.EnvVar) bool {
	return a.Name == b.Name && a.Value == b.Value && (a.ValueFrom == nil) == (b.ValueFrom == nil)
}

// writeContainers writes the containers as the evaluation left them (image, args, env
// with the added variables) into spec, a copy of the spec evaluated.
func (e *evaluation) writeContainers(spec *corev1.PodSpec) {
	for i := range e.containers {
		c := &e.containers[i]
		var image *string
		var env *[]corev1.EnvVar
		var args *[]string
		switch c.ref.List {
		case InitContainers:
			t := &spec.InitContainers[c.ref.Index]
			image, env, args = &t.Image, &t.Env, &t.Args
		case Containers:
			t := &spec.Containers[c.ref.Index]
			image, env, args = &t.Image, &t.Env, &t.Args
		case EphemeralContainers:
			t := &spec.EphemeralContainers[c.ref.Index].EphemeralContainerCommon
			image, env, args = &t.Image, &t.Env, &t.Args
		}
		*image = c.image
		*args = slices.Clone(c.args)
		if len(c.addedEnv) > 0 {
			*env = append(slices.Clone(c.env), c.addedEnv...)
		}
	}
}
