// Command validate checks rendered Kubernetes manifests offline: every object is decoded
// strictly (unknown or duplicated fields are errors) into the Kubernetes API types of
// k8s.io/api, then checked for what these manifests promise: names and labels the API
// server accepts, selectors that select the pods they mean, resources on every container,
// non-root pods, gRPC probes on the topology servers, and a termination grace that covers
// the server's shutdown drain.
//
//	kustomize build deploy/k8s/overlays/prod | go run ./deploy/k8s/validate -name prod
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

func main() {
	name := flag.String("name", "stdin", "what is being validated, for messages")
	flag.Parse()
	objects, err := decodeAll(os.Stdin)
	if err == nil {
		err = check(objects)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", *name, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d objects valid\n", *name, len(objects))
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

// decodeAll splits a YAML stream into documents and decodes each strictly into its type.
func decodeAll(r io.Reader) ([]runtime.Object, error) {
	scheme := newScheme()
	var objects []runtime.Object
	docs, err := splitDocuments(r)
	if err != nil {
		return nil, err
	}
	for i, doc := range docs {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		gvk := schema.FromAPIVersionAndKind(meta.APIVersion, meta.Kind)
		obj, err := scheme.New(gvk)
		if err != nil {
			return nil, fmt.Errorf("document %d: %s is not a known Kubernetes type: %w", i+1, gvk, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, gvk.Kind, err)
		}
		objects = append(objects, obj)
	}
	if len(objects) == 0 {
		return nil, errors.New("no objects")
	}
	return objects, nil
}

func splitDocuments(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	var current bytes.Buffer
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	flush := func() {
		if strings.TrimSpace(current.String()) != "" {
			docs = append(docs, append([]byte(nil), current.Bytes()...))
		}
		current.Reset()
	}
	for scanner.Scan() {
		line := scanner.Text()
		if strings.TrimRight(line, " ") == "---" {
			flush()
			continue
		}
		current.WriteString(line)
		current.WriteByte('\n')
	}
	flush()
	return docs, scanner.Err()
}

type podOwner struct {
	kind, name string
	template   *corev1.PodTemplateSpec
	selector   *metav1.LabelSelector
}

func check(objects []runtime.Object) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var owners []podOwner
	seen := map[string]bool{}
	for _, obj := range objects {
		accessor, err := metaOf(obj)
		if err != nil {
			return err
		}
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		id := kind + "/" + accessor.Namespace + "/" + accessor.Name
		if seen[id] {
			fail("%s appears twice", id)
		}
		seen[id] = true
		for _, msg := range validation.IsDNS1123Subdomain(accessor.Name) {
			fail("%s: name: %s", id, msg)
		}
		for key, value := range accessor.Labels {
			for _, msg := range validation.IsQualifiedName(key) {
				fail("%s: label %q: %s", id, key, msg)
			}
			for _, msg := range validation.IsValidLabelValue(value) {
				fail("%s: label %q value %q: %s", id, key, value, msg)
			}
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			owners = append(owners, podOwner{kind, o.Name, &o.Spec.Template, o.Spec.Selector})
		case *appsv1.StatefulSet:
			owners = append(owners, podOwner{kind, o.Name, &o.Spec.Template, o.Spec.Selector})
			if !seen["Service/"+o.Namespace+"/"+o.Spec.ServiceName] && !hasService(objects, o.Namespace, o.Spec.ServiceName) {
				fail("%s: serviceName %q names no Service", id, o.Spec.ServiceName)
			}
		case *batchv1.Job:
			owners = append(owners, podOwner{kind, o.Name, &o.Spec.Template, nil})
		}
	}
	for _, owner := range owners {
		checkPods(owner, fail)
	}
	for _, obj := range objects {
		switch o := obj.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) > 0 && !selectsAny(owners, o.Namespace, &metav1.LabelSelector{MatchLabels: o.Spec.Selector}) {
				fail("Service/%s selects no pods", o.Name)
			}
		case *policyv1.PodDisruptionBudget:
			if !selectsAny(owners, o.Namespace, o.Spec.Selector) {
				fail("PodDisruptionBudget/%s selects no pods", o.Name)
			}
		case *networkingv1.NetworkPolicy:
			if !selectsAny(owners, o.Namespace, &o.Spec.PodSelector) {
				fail("NetworkPolicy/%s selects no pods", o.Name)
			}
		case *appsv1.StatefulSet:
			if !hasBudget(objects, o) {
				fail("StatefulSet/%s has no PodDisruptionBudget", o.Name)
			}
		}
	}
	return errors.Join(errs...)
}

func checkPods(owner podOwner, fail func(string, ...any)) {
	id := owner.kind + "/" + owner.name
	pod := owner.template.Spec
	if owner.selector != nil {
		selector, err := metav1.LabelSelectorAsSelector(owner.selector)
		if err != nil || selector.Empty() || !selector.Matches(labels.Set(owner.template.Labels)) {
			fail("%s: selector %v does not select its own pod template", id, owner.selector)
		}
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		fail("%s: pods must set runAsNonRoot", id)
	}
	for _, c := range pod.Containers {
		cid := id + " container " + c.Name
		if c.Image == "" {
			fail("%s: no image", cid)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			fail("%s: needs cpu and memory requests and a memory limit", cid)
		}
		if owner.kind == "Deployment" && owner.template.Labels["app.kubernetes.io/component"] == "topo-server" {
			if c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil || c.LivenessProbe == nil || c.LivenessProbe.GRPC == nil {
				fail("%s: topology servers need native gRPC readiness and liveness probes", cid)
			} else if c.LivenessProbe.GRPC.Service == nil || *c.LivenessProbe.GRPC.Service != "liveness" {
				fail("%s: the liveness probe must ask for the 'liveness' service (SERVING whatever etcd's state)", cid)
			}
			checkGrace(cid, pod, c, fail)
		}
	}
}

// checkGrace: the pod's termination grace must cover the preStop pause and the server's
// --shutdown-grace, or the kubelet kills the server in the middle of its drain.
func checkGrace(id string, pod corev1.PodSpec, c corev1.Container, fail func(string, ...any)) {
	graceMs := int64(5000)
	for _, arg := range c.Args {
		if value, ok := strings.CutPrefix(arg, "--shutdown-grace="); ok {
			parsed, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				fail("%s: --shutdown-grace=%q is not a number", id, value)
				return
			}
			graceMs = parsed
		}
	}
	preStopMs := int64(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
		cmd := c.Lifecycle.PreStop.Exec.Command
		if len(cmd) == 2 && cmd[0] == "sleep" {
			seconds, _ := strconv.ParseInt(cmd[1], 10, 64)
			preStopMs = seconds * 1000
		}
	}
	termination := int64(30)
	if pod.TerminationGracePeriodSeconds != nil {
		termination = *pod.TerminationGracePeriodSeconds
	}
	// One more second for closing the store and exiting.
	if termination*1000 < preStopMs+graceMs+1000 {
		fail("%s: terminationGracePeriodSeconds %d does not cover preStop %d ms + --shutdown-grace %d ms", id, termination, preStopMs, graceMs)
	}
}

func selectsAny(owners []podOwner, namespace string, selector *metav1.LabelSelector) bool {
	parsed, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || parsed.Empty() {
		return false
	}
	for _, owner := range owners {
		if parsed.Matches(labels.Set(owner.template.Labels)) {
			return true
		}
	}
	return false
}

func hasService(objects []runtime.Object, namespace, name string) bool {
	for _, obj := range objects {
		if s, ok := obj.(*corev1.Service); ok && s.Namespace == namespace && s.Name == name {
			return true
		}
	}
	return false
}

func hasBudget(objects []runtime.Object, set *appsv1.StatefulSet) bool {
	for _, obj := range objects {
		pdb, ok := obj.(*policyv1.PodDisruptionBudget)
		if !ok || pdb.Namespace != set.Namespace {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err == nil && !selector.Empty() && selector.Matches(labels.Set(set.Spec.Template.Labels)) {
			return true
		}
	}
	return false
}

func metaOf(obj runtime.Object) (*metav1.ObjectMeta, error) {
	type hasMeta interface{ GetObjectMeta() metav1.Object }
	if m, ok := obj.(hasMeta); ok {
		if meta, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return meta, nil
		}
	}
	return nil, fmt.Errorf("%T has no object metadata", obj)
}
