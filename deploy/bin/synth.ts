/**
 * `npm run synth [-- --settings path/to/settings.json]`: writes the CloudFormation templates to
 * deploy/cdk.out, offline (no AWS account, no context lookups, no CDK CLI). Without --settings it
 * reads deploy/settings.json, or else the example settings, and says so.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildApp } from '../lib/app';
import { describeFindings, unacknowledgedNagFindings } from '../lib/nag';
import { loadSettingsFile, SettingsError } from '../lib/settings';

const deployDir = resolve(__dirname, '..');

function settingsPath(argv: string[]): string {
  const at = argv.indexOf('--settings');
  if (at >= 0) {
    const given = argv[at + 1];
    if (!given) throw new SettingsError('--settings', ['expected a file path after --settings']);
    return resolve(given);
  }
  const own = join(deployDir, 'settings.json');
  if (existsSync(own)) return own;
  console.warn('deploy/settings.json not found: synthesizing the example settings (copy deploy/settings.example.json and edit it).');
  return join(deployDir, 'settings.example.json');
}

function main(): number {
  const started = process.hrtime.bigint();
  const file = settingsPath(process.argv.slice(2));
  const settings = loadSettingsFile(file);
  const outdir = join(deployDir, 'cdk.out');
  // A fresh assembly: assets of earlier runs would otherwise pile up in cdk.out.
  rmSync(outdir, { recursive: true, force: true });
  const { app, integration, service } = buildApp(settings, { outdir });
  const assembly = app.synth();
  const stacks = service ? [integration, service] : [integration];
  for (const stack of stacks) {
    const artifact = assembly.getStackArtifact(stack.artifactId);
    console.log(`${relative(process.cwd(), join(outdir, artifact.templateFile))} (${stack.stackName}, ${stack.region})`);
  }
  // The AwsSolutions checks the tests run, so that changed settings are checked too.
  const findings = unacknowledgedNagFindings(app);
  for (const line of describeFindings(findings)) console.warn(line);
  const errors = findings.filter((f) => f.severity !== 'warning').reduce((n, f) => n + f.violatingResources.length, 0);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`synthesized from ${relative(process.cwd(), file)} in ${(ms / 1000).toFixed(1)} s`);
  if (errors > 0) console.error(`${errors} error(s): fix them or justify a suppression (deploy/README.md)`);
  return errors > 0 ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(error instanceof SettingsError ? error.message : error);
  process.exitCode = 78;
}
