// Command psa-check judges rendered Kubernetes manifests with the real Pod Security admission
// library (k8s.io/pod-security-admission), the code the API server runs.
//
// Usage: psa-check [--json] DIR...
//
// It reads every *.yaml / *.yml file under the DIRs (multi-document files allowed), collects the
// Namespaces (their pod-security.kubernetes.io/enforce and enforce-version labels) and the pod
// template of every Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob, then
// evaluates each template (a) at its namespace's enforce level and version and (b) at
// restricted:latest. It prints one line per template (one JSON object per line with --json).
//
// A namespace without an enforce label enforces privileged (the API server's default); a missing
// enforce-version means latest. A template whose namespace is not among the manifests is an error.
//
// Exit status: 0 when every template passes its namespace's enforce level, 1 otherwise, 2 on a
// usage, read or parse error (including an invalid pod-security label).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// extract returns a function that decodes one YAML document as a T and returns its pod template.
func extract[T any](templateOf func(*T) corev1.PodTemplateSpec) func([]byte) (corev1.PodTemplateSpec, error) {
	return func(doc []byte) (corev1.PodTemplateSpec, error) {
		var object T
		err := yaml.Unmarshal(doc, &object)
		return templateOf(&object), err
	}
}

// templateOf extracts the pod template (metadata and spec) of each kind that has one.
var templateOf = map[schema.GroupKind]func([]byte) (corev1.PodTemplateSpec, error){
	{Kind: "Pod"}: extract(func(o *corev1.Pod) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	}),
	{Group: "apps", Kind: "Deployment"}:  extract(func(o *appsv1.Deployment) corev1.PodTemplateSpec { return o.Spec.Template }),
	{Group: "apps", Kind: "StatefulSet"}: extract(func(o *appsv1.StatefulSet) corev1.PodTemplateSpec { return o.Spec.Template }),
	{Group: "apps", Kind: "DaemonSet"}:   extract(func(o *appsv1.DaemonSet) corev1.PodTemplateSpec { return o.Spec.Template }),
	{Group: "apps", Kind: "ReplicaSet"}:  extract(func(o *appsv1.ReplicaSet) corev1.PodTemplateSpec { return o.Spec.Template }),
	{Group: "batch", Kind: "Job"}:        extract(func(o *batchv1.Job) corev1.PodTemplateSpec { return o.Spec.Template }),
	{Group: "batch", Kind: "CronJob"}: extract(func(o *batchv1.CronJob) corev1.PodTemplateSpec {
		return o.Spec.JobTemplate.Spec.Template
	}),
}

// template is a pod template found in the manifests, with the object that holds it.
type template struct {
	Kind, Namespace, Name, File string
	Pod                         corev1.PodTemplateSpec
}

// Verdict is the outcome of evaluating one template at one level:version.
type Verdict struct {
	Level   string   `json:"level"` // e.g. "baseline:latest", "restricted:v1.30"
	Allowed bool     `json:"allowed"`
	Reasons []string `json:"reasons,omitempty"` // the library's ForbiddenReasons
	Detail  string   `json:"detail,omitempty"`  // every reason with its detail, as admission reports it
}

// Report is one output line: a template judged at its namespace's level and at restricted:latest.
type Report struct {
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	File       string   `json:"file"`
	Enforce    *Verdict `json:"namespaceLevel"` // nil when the namespace is unknown (see Error)
	Restricted Verdict  `json:"restricted"`
	Error      string   `json:"error,omitempty"`
}

// load reads every YAML document under the dirs, returning the namespaces' enforce levels and the
// pod templates in file (lexical) and document order.
func load(dirs []string) (map[string]api.LevelVersion, []template, error) {
	// What a namespace without labels enforces on an API server with the default configuration.
	defaults := api.Policy{Enforce: api.LevelVersion{Level: api.LevelPrivileged, Version: api.LatestVersion()}}
	namespaces := map[string]api.LevelVersion{}
	var templates []template
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
			if err != nil || entry.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			file, err := os.Open(path)
			if err != nil {
				return err
			}
			defer file.Close()
			reader := utilyaml.NewYAMLReader(bufio.NewReader(file))
			for {
				doc, err := reader.Read()
				if errors.Is(err, io.EOF) {
					return nil
				} else if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				var head struct {
					metav1.TypeMeta `json:",inline"`
					Metadata        metav1.ObjectMeta `json:"metadata"`
				}
				if err := yaml.Unmarshal(doc, &head); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				kind := head.GroupVersionKind().GroupKind()
				if kind == (schema.GroupKind{Kind: "Namespace"}) {
					nsPolicy, errs := api.PolicyToEvaluate(head.Metadata.Labels, defaults)
					if len(errs) > 0 {
						return fmt.Errorf("%s: namespace %s: %v", path, head.Metadata.Name, errs.ToAggregate())
					}
					namespaces[head.Metadata.Name] = nsPolicy.Enforce
				} else if podTemplate, ok := templateOf[kind]; ok {
					pod, err := podTemplate(doc)
					if err != nil {
						return fmt.Errorf("%s: %s %s: %w", path, head.Kind, head.Metadata.Name, err)
					}
					namespace := head.Metadata.Namespace
					if namespace == "" {
						namespace = metav1.NamespaceDefault // where the API server would put it
					}
					templates = append(templates, template{head.Kind, namespace, head.Metadata.Name, path, pod})
				}
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return namespaces, templates, nil
}

// judge evaluates a template at one level:version with the library's default checks.
func judge(evaluator policy.Evaluator, lv api.LevelVersion, pod *corev1.PodTemplateSpec) Verdict {
	result := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec))
	return Verdict{Level: lv.String(), Allowed: result.Allowed, Reasons: result.ForbiddenReasons, Detail: result.ForbiddenDetail()}
}

// describe renders a verdict for the text output.
func describe(v *Verdict) string {
	if v.Allowed {
		return v.Level + " pass"
	}
	return v.Level + " FAIL: " + v.Detail
}

func main() {
	asJSON := flag.Bool("json", false, "print one JSON object per template instead of one line of text")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: psa-check [--json] DIR...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	namespaces, templates, err := load(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "psa-check:", err)
		os.Exit(2)
	}
	// No emulation version: "latest" means the newest policy version this library knows.
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "psa-check:", err)
		os.Exit(2)
	}
	restricted := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	encoder, status := json.NewEncoder(os.Stdout), 0
	for _, t := range templates {
		report := Report{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, File: t.File,
			Restricted: judge(evaluator, restricted, &t.Pod)}
		if enforce, ok := namespaces[t.Namespace]; ok {
			verdict := judge(evaluator, enforce, &t.Pod)
			report.Enforce = &verdict
		} else {
			report.Error = fmt.Sprintf("namespace %q is not among the manifests", t.Namespace)
		}
		if report.Enforce == nil || !report.Enforce.Allowed {
			status = 1
		}
		if *asJSON {
			if err := encoder.Encode(report); err != nil {
				fmt.Fprintln(os.Stderr, "psa-check:", err)
				os.Exit(2)
			}
			continue
		}
		namespaceLevel := "ERROR: " + report.Error
		if report.Enforce != nil {
			namespaceLevel = describe(report.Enforce)
		}
		fmt.Printf("%s %s/%s: namespace %s; %s\n", t.Kind, t.Namespace, t.Name, namespaceLevel, describe(&report.Restricted))
	}
	os.Exit(status)
}
