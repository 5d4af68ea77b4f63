// SPDX-License-Identifier: GPL-2.0
//
// Validate Kubernetes manifests offline, against the API schemas, three ways:
//  1. kubernetes-models: ajv validators generated from the Kubernetes
//     OpenAPI spec (types, formats, enums, required fields);
//  2. kubernetes-types + tsc --strict: the API's TypeScript types, also
//     generated from the OpenAPI spec; an object literal with a field the
//     type does not have is an error, so this catches misspelt fields,
//     which the OpenAPI schemas (and 1.) accept silently;
//  3. cross-references the API server checks at admission (selector vs
//     template labels, volume mounts vs volumes, container names, ...).
// Usage: node validate.mjs FILE.yaml...   (cwd: the npm install dir)
// Prints "ok"/"not ok" lines per document and check; exit 1 on any error.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

const MODELS = {
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap", "kubernetes-types/core/v1", "ConfigMap"],
  "apps/v1/DaemonSet": ["kubernetes-models/apps/v1/DaemonSet", "DaemonSet", "kubernetes-types/apps/v1", "DaemonSet"],
};
// Not Kubernetes API objects; kustomize's own schema-less config.
const SKIP_KINDS = new Set(["kustomize.config.k8s.io/v1beta1/Kustomization"]);

let failures = 0;
const report = (ok, what, detail) => {
  console.log(`${ok ? "ok" : "not ok"} - ${what}`);
  if (!ok) {
    failures++;
    for (const l of String(detail).split("\n")) console.log(`#   ${l}`);
  }
};

const docs = [];
for (const file of process.argv.slice(2)) {
  const all = parseAllDocuments(fs.readFileSync(file, "utf8"));
  all.forEach((d, i) => {
    const where = `${path.basename(file)}#${i}`;
    if (d.errors.length) return report(false, `${where}: YAML parses`, d.errors.map(String).join("\n"));
    const obj = d.toJS();
    if (obj === null) return;
    docs.push({ where, obj });
  });
}

// 1. JSON-schema validation.
for (const { where, obj } of docs) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  if (SKIP_KINDS.has(key)) continue;
  const m = MODELS[key];
  if (!m) { report(false, `${where}: known kind`, `no schema wired for ${key}`); continue; }
  const mod = await import(m[0]);
  try {
    new mod[m[1]](obj).validate();
    report(true, `${where} ${key} ${obj.metadata?.name}: schema (kubernetes-models)`);
  } catch (e) {
    report(false, `${where} ${key} ${obj.metadata?.name}: schema (kubernetes-models)`, e.message);
  }
}

// 2. Strict field names with the API's TypeScript types.
const tsdir = fs.mkdtempSync(path.join(process.cwd(), ".tscheck-"));
try {
  let src = "";
  const named = [];
  docs.forEach(({ where, obj }, i) => {
    const m = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!m) return;
    src += `import type { ${m[3]} as T${i} } from "${m[2]}";\n`;
    src += `// ${where}\nexport const doc${i}: T${i} = ${JSON.stringify(obj, null, 2)};\n`;
    named.push(where);
  });
  fs.writeFileSync(path.join(tsdir, "manifests.ts"), src);
  const tsc = path.join(process.cwd(), "node_modules/typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022",
      "--moduleResolution", "node", "--skipLibCheck",
      path.join(tsdir, "manifests.ts")], { stdio: "pipe", cwd: process.cwd() });
    report(true, `${named.join(", ")}: no unknown or mistyped fields (kubernetes-types ${JSON.parse(fs.readFileSync("node_modules/kubernetes-types/package.json")).version}, tsc --strict)`);
  } catch (e) {
    const out = (e.stdout || "").toString() + (e.stderr || "").toString();
    // Map "manifests.ts(LINE,COL)" back to the document it sits in.
    const lines = src.split("\n");
    const msg = out.replace(/\S*manifests\.ts\((\d+),\d+\)/g, (s, n) => {
      for (let k = Number(n) - 1; k >= 0; k--)
        if (lines[k].startsWith("// ")) return `${lines[k].slice(3)} (line ${n} of the JSON form, field ${lines[Number(n) - 1].trim().split(":")[0]})`;
      return s;
    });
    report(false, `${named.join(", ")}: no unknown or mistyped fields (tsc --strict)`, msg.trim());
  }
} finally {
  fs.rmSync(tsdir, { recursive: true, force: true });
}

// 3. What admission would refuse although the schema allows it.
const byKind = (k) => docs.filter((d) => d.obj.kind === k);
for (const { where, obj } of byKind("DaemonSet")) {
  const spec = obj.spec || {}, pod = spec.template?.spec || {};
  const sel = spec.selector?.matchLabels || {}, lab = spec.template?.metadata?.labels || {};
  const bad = Object.entries(sel).filter(([k, v]) => lab[k] !== v);
  report(Object.keys(sel).length > 0 && bad.length === 0, `${where}: selector matches the template labels`, JSON.stringify(bad));
  const all = [...(pod.initContainers || []), ...(pod.containers || [])];
  const names = all.map((c) => c.name);
  report(new Set(names).size === names.length, `${where}: container names unique`, names.join(","));
  const vols = new Set((pod.volumes || []).map((v) => v.name));
  const missing = all.flatMap((c) => (c.volumeMounts || []).filter((m) => !vols.has(m.name)).map((m) => `${c.name}:${m.name}`));
  report(missing.length === 0, `${where}: every volumeMount names a volume`, missing.join(","));
  const nolimit = all.filter((c) => !(c.resources?.limits?.cpu && c.resources?.limits?.memory && c.resources?.requests?.cpu && c.resources?.requests?.memory)).map((c) => c.name);
  report(nolimit.length === 0, `${where}: every container has cpu/memory requests and limits`, nolimit.join(","));
  const tolAll = (pod.tolerations || []).some((t) => t.operator === "Exists" && !t.key && !t.effect);
  report(tolAll, `${where}: tolerates every taint (operator Exists, no key/effect)`, JSON.stringify(pod.tolerations));
  report(pod.automountServiceAccountToken === false && !pod.serviceAccountName,
    `${where}: RBAC-free (no service account token, default service account)`, JSON.stringify({ a: pod.automountServiceAccountToken, sa: pod.serviceAccountName }));
  // The API server refuses privileged with allowPrivilegeEscalation false,
  // and (1.30+) an AppArmor annotation that disagrees with the field.
  const ann = spec.template?.metadata?.annotations || {};
  const apParse = (s) => s === "unconfined" ? "Unconfined" : s === "runtime/default" ? "RuntimeDefault" : s?.startsWith("localhost/") ? `Localhost:${s.slice(10)}` : s;
  const apField = (p) => p && (p.type === "Localhost" ? `Localhost:${p.localhostProfile}` : p.type);
  for (const c of all) {
    const sc = c.securityContext || {};
    report(!(sc.privileged === true && sc.allowPrivilegeEscalation === false),
      `${where}: ${c.name}: not privileged with allowPrivilegeEscalation false (the API refuses it)`, JSON.stringify(sc));
    const a = ann[`container.apparmor.security.beta.kubernetes.io/${c.name}`];
    const f = apField(sc.appArmorProfile || pod.securityContext?.appArmorProfile);
    report(!a || !f || apParse(a) === f, `${where}: ${c.name}: AppArmor annotation and appArmorProfile agree`, `annotation ${a}, field ${f}`);
    // What this DaemonSet needs: a container that writes the module's
    // files under /sys must not run under the runtime's default AppArmor
    // profile (deny /sys/[^f]*/** w) or as SELinux container_t, on
    // Kubernetes before 1.30 (annotation) and after (field).
    const writesSys = sc.privileged === true || (c.volumeMounts || []).some((m) => m.mountPath.startsWith("/sys/") && !m.readOnly);
    if (writesSys) {
      report(f === "Unconfined" && apParse(a) === "Unconfined" && sc.seLinuxOptions?.type === "spc_t",
        `${where}: ${c.name} writes /sys: AppArmor unconfined (appArmorProfile and the pre-1.30 annotation), SELinux spc_t`,
        `appArmorProfile ${f}, annotation ${a}, seLinuxOptions ${JSON.stringify(sc.seLinuxOptions)}`);
    }
  }
  for (const c of pod.containers || []) {
    report(!!c.readinessProbe, `${where}: ${c.name}: has a readinessProbe`, "no readinessProbe");
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
    const dir = env.TCPTIMEO_STATE_DIR;
    if (!dir) continue;
    const mnt = (c.volumeMounts || []).find((m) => m.mountPath === dir);
    const vol = (pod.volumes || []).find((v) => v.name === mnt?.name);
    const shared = (pod.initContainers || []).every((i) => !(i.env || []).some((e) => e.name === "TCPTIMEO_STATE_DIR") ||
      (i.volumeMounts || []).some((m) => m.name === mnt?.name && m.mountPath === (i.env.find((e) => e.name === "TCPTIMEO_STATE_DIR").value)));
    report(!!vol?.emptyDir && !mnt.readOnly && shared,
      `${where}: ${c.name}: TCPTIMEO_STATE_DIR ${dir} is a writable emptyDir, shared with the init container`, JSON.stringify({ mnt, vol }));
  }
  const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms || [];
  const archs = [pod.nodeSelector?.["kubernetes.io/arch"], ...terms.flatMap((t) => (t.matchExpressions || []).filter((e) => e.key === "kubernetes.io/arch" && e.operator === "In").flatMap((e) => e.values))].filter(Boolean);
  report(archs.length === 0 || (archs.includes("amd64") && archs.includes("arm64") && !pod.nodeSelector?.["kubernetes.io/arch"]),
    `${where}: schedules on amd64 and arm64 nodes`, `arch constraints: ${archs.join(",")}`);
  for (const v of pod.volumes || []) {
    if (!v.configMap) continue;
    const cm = byKind("ConfigMap").find((d) => d.obj.metadata.name === v.configMap.name && d.obj.metadata.namespace === obj.metadata.namespace);
    report(!!cm, `${where}: ConfigMap ${v.configMap.name} is defined in the same namespace`, "not among the validated files");
  }
}

console.log(failures ? `# ${failures} check(s) failed` : "# all checks passed");
process.exit(failures ? 1 : 0);
