/**
 * Static checks of the deployment files (Dockerfile aside): the dashboard and alert rules only
 * use metrics and labels createMetrics() defines, the worker HPA scales the worker Deployment
 * on weft_queue_jobs, compose workers can be scaled, and the copies kept for Kubernetes match
 * their sources. When kubectl, docker-compose or promtool is on PATH (promtool also through
 * $PROMTOOL), the files are also run through it; otherwise those tests are skipped with a note.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../shared/src/config/load-config.js';
import { NODE_TYPES } from '../../shared/src/flow/types.js';
import { checkExpression, metricCatalog, promqlReferences } from './promql-references.js';

// Parsed YAML and JSON: the tests below assert its shape field by field.
 
type Parsed = any;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const yamlFile = (path: string): Parsed => parse(read(path), { merge: true });

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Every PromQL expression of a Grafana dashboard, rows included. */
function dashboardExpressions(dashboard: Parsed): string[] {
  const out: string[] = [];
  const walk = (panels: Parsed[] | undefined): void => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) if (typeof target.expr === 'string') out.push(target.expr);
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

const alertRules = (): Parsed[] => yamlFile('k8s/monitoring/weft-alerts.rules.yml').groups.flatMap((g: Parsed) => g.rules);
const k8sEnv = (): Map<string, string> =>
  new Map(read('k8s/config.env').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)] as [string, string];
  }));
const seconds = (duration: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2]!]!;
};

describe('metrics referenced by the dashboard and the alert rules', () => {
  it('finds the metrics in PromQL', () => {
    const refs = promqlReferences('histogram_quantile(0.95, sum by (le, node_type) (rate(weft_node_duration_seconds_bucket{status="completed"}[$__rate_interval]))) / ignoring(x) group_left sum(up)');
    expect(refs.selectors).toEqual([{ metric: 'weft_node_duration_seconds_bucket', labels: ['status'] }, { metric: 'up', labels: [] }]);
    expect(refs.groupingLabels).toEqual(['le', 'node_type', 'x']);
  });

  it('the dashboard uses only metrics and labels from createMetrics()', async () => {
    const catalog = await metricCatalog();
    const exprs = dashboardExpressions(JSON.parse(read('ops/grafana/dashboards/weft.json')));
    expect(exprs.length).toBeGreaterThan(20);
    expect(exprs.flatMap((e) => checkExpression(e, catalog))).toEqual([]);
    const used = new Set(exprs.flatMap((e) => promqlReferences(e).selectors.map((s) => s.metric)));
    for (const metric of [
      'weft_executions_total', 'weft_nodes_total', 'weft_node_duration_seconds_bucket', 'weft_queue_jobs',
      'weft_llm_tokens_total', 'weft_llm_cost_usd_total', 'weft_errors_total', 'weft_circuit_state',
      'weft_event_relay_lag_seconds_bucket', 'weft_flush_lag_seconds_bucket', 'weft_http_requests_total',
      'weft_http_request_duration_seconds_bucket', 'weft_map_items_total', 'weft_recovered_total',
    ]) expect(used, `dashboard panel for ${metric}`).toContain(metric);
  });

  it('the alert rules use only metrics and labels from createMetrics()', async () => {
    const catalog = await metricCatalog();
    const rules = alertRules();
    expect(rules.flatMap((r) => checkExpression(String(r.expr), catalog))).toEqual([]);
    const byName = new Map(rules.map((r) => [r.alert as string, String(r.expr)]));
    const expectations: Array<[string, string]> = [
      ['WeftQueueBacklogGrowing', 'weft_queue_jobs'], ['WeftExecutionFailureRatioHigh', 'weft_executions_total'],
      ['WeftNodeErrorRateHigh', 'weft_errors_total'], ['WeftCircuitOpen', 'weft_circuit_state'],
      ['WeftFlushLagHigh', 'weft_flush_lag_seconds_bucket'], ['WeftApiHigh5xxRate', 'weft_http_requests_total'],
      ['WeftWorkerDown', 'up'],
    ];
    for (const [alert, metric] of expectations) {
      expect(byName.get(alert), alert).toBeDefined();
      expect(promqlReferences(byName.get(alert)!).selectors.map((s) => s.metric), alert).toContain(metric);
    }
    expect(byName.get('WeftCircuitOpen')).toMatch(/==\s*2\b/);
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it('the PrometheusRule carries the same groups as the plain rules file', () => {
    const plain = yamlFile('k8s/monitoring/weft-alerts.rules.yml');
    const crd = yamlFile('k8s/monitoring/prometheus-operator/prometheus-rule.yaml');
    expect(crd.kind).toBe('PrometheusRule');
    expect(crd.spec.groups).toEqual(plain.groups);
  });

  it('the Kubernetes copy of the dashboard is identical to ops/grafana/dashboards/weft.json', () => {
    expect(read('k8s/monitoring/dashboards/weft.json'), 'run: cp ops/grafana/dashboards/weft.json k8s/monitoring/dashboards/weft.json')
      .toBe(read('ops/grafana/dashboards/weft.json'));
  });
});

describe('Kubernetes manifests', () => {
  it('each worker pool has its Deployment and an HPA on its own pool backlog', async () => {
    const adapterConfig = parse(yamlFile('k8s/monitoring/prometheus-adapter-rules.yaml').data['config.yaml']);
    const pools = [['k8s/worker-hpa.yaml', 'k8s/worker-deployment.yaml', 'general'], ['k8s/worker-llm-hpa.yaml', 'k8s/worker-llm-deployment.yaml', 'llm']] as const;
    for (const [hpaFile, deploymentFile, pool] of pools) {
      const hpa = yamlFile(hpaFile);
      const worker = yamlFile(deploymentFile);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
      expect(worker.kind).toBe('Deployment');
      expect(worker.spec.replicas, 'the HPA owns the replica count').toBeUndefined();
      const env = Object.fromEntries(worker.spec.template.spec.containers[0].env.filter((e: Parsed) => 'value' in e).map((e: Parsed) => [e.name, e.value]));
      expect(env.WEFT_WORKER_POOL, deploymentFile).toBe(pool);
      const config = loadConfig({ ...Object.fromEntries(k8sEnv()), ...env, REDIS_URL: 'redis://r:6379', DATABASE_URL: 'postgres://p/db', WEFT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, 'worker');
      expect(config.workerPool).toBe(pool);
      const external = hpa.spec.metrics.find((m: Parsed) => m.type === 'External')?.external;
      expect(external.metric.name).toBe('weft_pool_queue_jobs');
      expect(external.metric.selector.matchLabels).toEqual({ pool, state: 'waiting' });
      const labels = (await metricCatalog()).get('weft_pool_queue_jobs')!.labels;
      for (const label of Object.keys(external.metric.selector.matchLabels)) expect(labels).toContain(label);
      expect(external.target.type).toBe('AverageValue');
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThan(0);
      const rule = adapterConfig.externalRules.find((r: Parsed) => r.name.as === external.metric.name);
      expect(rule, 'prometheus-adapter rule serving the HPA metric').toBeDefined();
      expect(promqlReferences(rule.seriesQuery).selectors.map((s) => s.metric)).toEqual([external.metric.name]);
      // Every process reports the fleet-wide depth: sum() would count it once per pod.
      expect(rule.metricsQuery).toMatch(/^max\(/);
    }
    // Together the pools run every node type.
    const types = pools.flatMap(([, file]) => {
      const env = yamlFile(file).spec.template.spec.containers[0].env.find((e: Parsed) => e.name === 'WEFT_WORKER_NODE_TYPES');
      return String(env.value).split(',');
    });
    expect(types.sort()).toEqual([...NODE_TYPES].sort());
  });

  it('probes, ports and grace periods agree with config.env', () => {
    const env = k8sEnv();
    const shutdownGraceMs = Number(env.get('SHUTDOWN_GRACE_MS'));
    expect(shutdownGraceMs).toBeGreaterThan(0);
    for (const [file, portVar] of [['k8s/api-deployment.yaml', 'PORT'], ['k8s/worker-deployment.yaml', 'WORKER_PORT'], ['k8s/worker-llm-deployment.yaml', 'WORKER_PORT']] as const) {
      const deployment = yamlFile(file);
      const pod = deployment.spec.template;
      const container = pod.spec.containers[0];
      const port = Number(env.get(portVar));
      expect(container.ports.find((p: Parsed) => p.name === 'http')?.containerPort, file).toBe(port);
      expect(container.readinessProbe.httpGet, file).toEqual({ path: '/health/ready', port: 'http' });
      expect(container.livenessProbe.httpGet, file).toEqual({ path: '/health/live', port: 'http' });
      expect(container.resources.requests, file).toBeDefined();
      expect(container.resources.limits.memory, file).toBeDefined();
      expect(pod.metadata.annotations['prometheus.io/port'], file).toBe(String(port));
      expect(pod.spec.terminationGracePeriodSeconds * 1000, file).toBeGreaterThan(shutdownGraceMs);
      expect(deployment.spec.selector.matchLabels, file).toEqual({ 'app.kubernetes.io/name': deployment.metadata.name });
    }
    expect(yamlFile('k8s/api-deployment.yaml').spec.replicas).toBe(2);
    for (const name of ['api', 'worker', 'worker-llm']) {
      const pdb = yamlFile(`k8s/${name}-pdb.yaml`);
      expect(pdb.spec.selector.matchLabels).toEqual(yamlFile(`k8s/${name}-deployment.yaml`).spec.selector.matchLabels);
    }
  });

  it('the secret template has placeholders for every secret the Deployments read', () => {
    const secret = yamlFile('k8s/secret.example.yaml');
    const kustomization = yamlFile('k8s/kustomization.yaml');
    expect(kustomization.resources, 'the template must not be applied').not.toContain('secret.example.yaml');
    for (const file of ['k8s/api-deployment.yaml', 'k8s/worker-deployment.yaml', 'k8s/worker-llm-deployment.yaml']) {
      for (const env of yamlFile(file).spec.template.spec.containers[0].env) {
        const ref = env.valueFrom?.secretKeyRef;
        if (!ref) continue;
        expect(ref.name).toBe(secret.metadata.name);
        expect(secret.stringData[ref.key], `${file}: ${ref.key}`).toMatch(/REPLACE_WITH_/);
      }
    }
  });

  it('kubectl kustomize renders k8s/ and k8s/monitoring/prometheus-operator', ({ skip }) => {
    if (!which('kubectl')) skip('kubectl not on PATH: rendering not checked');
    const res = run('kubectl', ['kustomize', 'k8s/']);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const objects = parseAllDocuments(res.stdout).map((d): Parsed => d.toJS()).filter(Boolean);
    const find = (kind: string, name: string): Parsed => objects.find((o) => o.kind === kind && o.metadata.name === name);
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('weft');
    for (const name of ['weft-worker', 'weft-worker-llm']) {
      const hpa = find('HorizontalPodAutoscaler', name);
      expect(find('Deployment', hpa.spec.scaleTargetRef.name)).toBeDefined();
    }
    expect(find('ConfigMap', 'weft-grafana-dashboards').data['weft.json']).toBe(read('ops/grafana/dashboards/weft.json'));
    expect(find('ConfigMap', 'weft-prometheus-rules').data['weft-alerts.rules.yml']).toBe(read('k8s/monitoring/weft-alerts.rules.yml'));
    for (const name of ['weft-api', 'weft-worker', 'weft-worker-llm']) {
      const template = find('Deployment', name).spec.template;
      // prometheus-scrape-config.yml keeps only pods labelled part-of=weft.
      expect(template.metadata.labels['app.kubernetes.io/part-of'], name).toBe('weft');
      const container = template.spec.containers[0];
      for (const from of container.envFrom) expect(find('ConfigMap', from.configMapRef.name), `${name} envFrom`).toBeDefined();
    }
    const operator = run('kubectl', ['kustomize', 'k8s/monitoring/prometheus-operator']);
    expect(operator.status, operator.stderr).toBe(0);
    expect(operator.stdout).toContain('kind: PrometheusRule');
  });
});

describe('docker compose', () => {
  const secrets = { POSTGRES_PASSWORD: 'compose-test-password', WEFT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), WEFT_ADMIN_TOKEN: 'compose-test-admin-token' };

  it('the worker can be scaled: no container_name, no host ports, grace period above SHUTDOWN_GRACE_MS', () => {
    const base = yamlFile('docker-compose.yml').services;
    const override = yamlFile('docker-compose.workers.yml').services;
    for (const worker of [base.worker, base['worker-llm'], override.worker, override['worker-llm']]) {
      expect(worker.container_name).toBeUndefined();
      expect(worker.ports).toBeUndefined();
    }
    // The example second pool: the same worker (command, dependencies, health check), LLM nodes
    // only. The base worker runs every type; the scaling override narrows it to the others.
    const llm = base['worker-llm'];
    for (const key of ['command', 'depends_on', 'healthcheck', 'image']) expect(llm[key], key).toEqual(base.worker[key]);
    expect(llm.environment).toMatchObject({ ...base.worker.environment, WEFT_WORKER_NODE_TYPES: 'llm', WEFT_WORKER_POOL: 'llm' });
    expect(base.worker.environment.WEFT_WORKER_NODE_TYPES).toBeUndefined();
    expect(override.worker.environment.WEFT_WORKER_NODE_TYPES.split(',')).not.toContain('llm');
    expect(seconds(override['worker-llm'].stop_grace_period)).toBeGreaterThan(Number(override['worker-llm'].environment.SHUTDOWN_GRACE_MS) / 1000);
    const env = { ...base.worker.environment, ...override.worker.environment };
    expect(env.WORKER_CONCURRENCY).toBeDefined();
    expect(seconds(override.worker.stop_grace_period)).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_MS) / 1000);
    expect(seconds(base.api.stop_grace_period)).toBeGreaterThan(Number(base.api.environment.SHUTDOWN_GRACE_MS) / 1000);
  });

  it('secrets are required, Redis never evicts, services wait for healthy dependencies', () => {
    const { services } = yamlFile('docker-compose.yml');
    for (const name of ['WEFT_MASTER_KEY', 'WEFT_ADMIN_TOKEN']) expect(services.api.environment[name]).toMatch(new RegExp(`^\\$\\{${name}:\\?.+\\}$`));
    expect(services.worker.environment.WEFT_ADMIN_TOKEN).toBeUndefined();
    for (const name of ['api', 'worker']) {
      expect(services[name].environment.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
      expect(services[name].environment.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(services[name].depends_on.postgres.condition).toBe('service_healthy');
      expect(services[name].depends_on.redis.condition).toBe('service_healthy');
    }
    expect(services.api.ports).toContain('3000:3000');
    expect(services.redis.command.join(' ')).toContain('--maxmemory-policy noeviction --appendonly yes');
    expect(services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
  });

  it('Prometheus scrapes the api and every worker replica, Grafana is provisioned from the repo', () => {
    const prometheus = yamlFile('ops/prometheus/prometheus.yml');
    const jobs = new Map<string, Parsed>(prometheus.scrape_configs.map((j: Parsed) => [j.job_name, j]));
    expect(jobs.get('weft-api').static_configs[0].targets).toEqual(['api:3000']);
    expect(jobs.get('weft-worker').dns_sd_configs).toEqual([expect.objectContaining({ names: ['worker', 'worker-llm'], type: 'A', port: 3001 })]);
    for (const file of prometheus.rule_files) expect(existsSync(join(root, 'ops/prometheus', file)), file).toBe(true);
    const provider = yamlFile('ops/grafana/provisioning/dashboards/weft.yml').providers[0];
    const grafana = yamlFile('docker-compose.yml').services.grafana;
    expect(grafana.volumes).toContain(`./ops/grafana/dashboards:${provider.options.path}:ro`);
    expect(grafana.environment.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
  });

  it('docker-compose config accepts the files and fails loudly without the secrets', ({ skip }) => {
    if (!which('docker-compose')) skip('docker-compose not on PATH (apt-get install -y --no-install-recommends docker-compose): compose config not checked');
    const files = ['-f', 'docker-compose.yml', '-f', 'docker-compose.workers.yml'];
    const ok = run('docker-compose', [...files, 'config', '-q'], secrets);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const missing = run('docker-compose', [...files, 'config', '-q'], { ...secrets, WEFT_MASTER_KEY: '' });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('WEFT_MASTER_KEY');
  });
});

describe('promtool', () => {
  const promtool = process.env.PROMTOOL ?? which('promtool');
  const needPromtool = (skip: (note: string) => never): string =>
    promtool ?? skip('promtool not found (PATH or $PROMTOOL; apt-get download prometheus && dpkg-deb -x): rules not checked');

  it('checks the rules, the compose config and the rule unit tests', ({ skip }) => {
    const bin = needPromtool(skip);
    for (const args of [
      ['check', 'rules', 'k8s/monitoring/weft-alerts.rules.yml'],
      ['check', 'config', 'ops/prometheus/prometheus.yml'],
      ['test', 'rules', 'test/ops/weft-alerts.promtool.yml'],
    ]) {
      const res = run(bin, args);
      expect(res.status, `${args.join(' ')}\n${res.stdout}${res.stderr}`).toBe(0);
    }
  });

  it('parses every dashboard query', ({ skip }) => {
    const bin = needPromtool(skip);
    // Grafana's variables replaced by a duration, each query wrapped as a recording rule.
    const exprs = dashboardExpressions(JSON.parse(read('ops/grafana/dashboards/weft.json')))
      .map((e) => e.replace(/\$__(rate_interval|range|interval)/g, '5m'));
    const dir = mkdtempSync(join(tmpdir(), 'weft-dashboard-promql-'));
    try {
      const file = join(dir, 'dashboard.rules.yml');
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
      const res = run(bin, ['check', 'rules', file]);
      expect(res.status, res.stdout + res.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
