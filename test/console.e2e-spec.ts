import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  type AppMeshClient,
  CreateGatewayRouteCommand,
  CreateVirtualGatewayCommand,
  DescribeRouteCommand,
} from '@aws-sdk/client-app-mesh';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { signRequest } from '../apps/cli/src/request-signing';
import {
  ALLOW_ALL,
  AUTH_ENV,
  type Credentials,
  issueKey,
  signedAppMesh,
} from './support/access-keys';
import { createCanaryMesh } from './support/canary-mesh';
import { envoyAwsIamCredentials } from './support/envoy-aws-iam';
import { TEST_REGION, uniqueMeshName } from './support/control-plane';
import { stopServerProcess, xdsPortOf } from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';
import { AnsweringSidecar, type Answer, NACK_MESSAGE } from './support/sidecar';
import { eventually } from './support/xds';

/**
 * The console, driven in Debian's headless Chromium (`apt-get install chromium`; playwright-core
 * downloads no browser) against the control plane as `npm start` runs it, with authentication
 * on: the test signs in with an access key as a user does, and asserts what the page shows.
 * `UPDATE_SCREENSHOTS=1` writes the screenshots docs/console.md shows.
 */

const CHROMIUM = process.env.TRELLIS_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(__dirname, '../docs/console');
const SERVICE = 'api.internal';
/** How long the page may take to show what the API or a proxy did. */
const SHOWN_MS = 15_000;
/** The console's red in the light theme (`--bad`). */
const RED = 'rgb(207, 34, 46)';

describe('the console in a browser', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let key: Credentials;
  let appMesh: AppMeshClient;
  const sidecars: AnsweringSidecar[] = [];

  beforeAll(async () => {
    [server, key] = await Promise.all([
      startServerProcess({
        ...AUTH_ENV,
        DATABASE_URL: process.env.DATABASE_URL!,
        TRELLIS_REGION: TEST_REGION,
        TRELLIS_ROLLOUT_TICK_MS: '50',
      }),
      issueKey('console', ALLOW_ALL),
    ]);
    appMesh = signedAppMesh(server.httpUrl, key);
    browser = await chromium
      .launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
      })
      .catch((error: Error) => {
        throw new Error(
          `cannot start Chromium at ${CHROMIUM} (install Debian's: apt-get install chromium; ` +
            `or set TRELLIS_CHROMIUM): ${error.message}`,
        );
      });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    page.setDefaultTimeout(SHOWN_MS);
    // A revert asks for confirmation; the user says yes.
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, server.httpUrl, key);
  }, 120_000);
  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    await browser?.close();
    appMesh?.destroy();
    await stopServerProcess(server);
  });

  /** The sidecar of `web`, signing its xDS stream with the key as Envoy's aws_iam does. */
  async function sidecar(meshName: string, answer?: Answer): Promise<AnsweringSidecar> {
    const port = xdsPortOf(server);
    const connected = await AnsweringSidecar.connect(port, meshName, 'web', SERVICE, answer, {
      credentials: grpc.credentials.createInsecure(),
      callCredentials: envoyAwsIamCredentials({
        authority: `127.0.0.1:${port}`,
        region: TEST_REGION,
        ...key,
      }),
    });
    sidecars.push(connected);
    return connected;
  }

  async function routeWeights(meshName: string): Promise<Record<string, number>> {
    const { route } = await appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
    );
    return Object.fromEntries(
      route!.spec!.httpRoute!.action!.weightedTargets!.map((t) => [t.virtualNode!, t.weight!]),
    );
  }

  /**
   * A view of the console loaded afresh, as a user opens a bookmark (the console routes on the
   * URL's fragment; leaving the page first makes the browser load it again, in the same tab
   * and so with the same signed-in key).
   */
  async function open(view: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(`${server.httpUrl}/ui/#/${view}`);
  }

  it('refuses the API to a browser that has not signed in, and shows the API message', async () => {
    const anonymous = await browser.newPage();
    try {
      await anonymous.goto(`${server.httpUrl}/ui/`);
      await anonymous.getByRole('alert').waitFor({ timeout: SHOWN_MS });
      expect(await anonymous.getByRole('alert').textContent()).toBe('Missing Authentication Token');
    } finally {
      await anonymous.close();
    }
  });

  it('shows a mesh created through the SDK in its topology, with its weights', async () => {
    const meshName = uniqueMeshName('console-topology');
    await createCanaryMesh(appMesh, meshName);
    await appMesh.send(
      new CreateVirtualGatewayCommand({
        meshName,
        virtualGatewayName: 'ingress',
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      }),
    );
    await appMesh.send(
      new CreateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'api',
        spec: {
          httpRoute: {
            match: { prefix: '/api/' },
            action: { target: { virtualService: { virtualServiceName: SERVICE } } },
          },
        },
      }),
    );
    await sidecar(meshName);
    await open('');
    await page.getByRole('link', { name: meshName }).click();
    const route = page.getByTestId('route-canary');
    await shows(route.getByTestId('weight-canary-blue'), /^100$/);
    await shows(route.getByTestId('weight-canary-green'), /^0$/);
    await shows(page.getByTestId('gateway-ingress'), `api → ${SERVICE}`);
    await shows(page.getByTestId(`service-${SERVICE}`), 'router api');
    await shows(page.getByTestId(`service-${SERVICE}`), 'called by web');
    await shows(page.getByTestId('node-web'), '1/1 proxies in sync');
    await screenshot(page, 'topology');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'topology-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('moves a weight in the editor: preview, apply, then 2 of 2 proxies in sync without a reload', async () => {
    const meshName = uniqueMeshName('console-weights');
    await createCanaryMesh(appMesh, meshName);
    const proxies = [await sidecar(meshName), await sidecar(meshName)];
    await open(`${meshName}/route/api/canary`);
    await page.getByLabel('weight of blue (number)').fill('70');
    await page.getByLabel('weight of green (number)').fill('30');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText("Preview: what the clients' sidecars would receive").waitFor();
    expect(await routeWeights(meshName)).toEqual({ blue: 100, green: 0 });

    const loaded = await page.evaluate(() => performance.timeOrigin);
    await page.getByRole('button', { name: 'Apply' }).click();
    await shows(page.getByTestId('propagation'), '2 of 2 proxies in sync');
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(loaded);
    expect(await routeWeights(meshName)).toEqual({ blue: 70, green: 30 });
    for (const proxy of proxies) expect(proxy.routeWeights.at(-1)).toEqual({ blue: 70, green: 30 });
    await screenshot(page, 'route');
  });

  it("does nothing the signed-in key may not: the editor shows the API's refusal, the route is unchanged", async () => {
    const meshName = uniqueMeshName('console-readonly');
    await createCanaryMesh(appMesh, meshName);
    const reader = await issueKey('console-reader', {
      Statement: [
        {
          Effect: 'Allow',
          Action: ['appmesh:Describe*', 'appmesh:List*', 'trellis:Get*', 'trellis:List*'],
          Resource: '*',
        },
      ],
    });
    const readerPage = await browser.newPage();
    try {
      readerPage.setDefaultTimeout(SHOWN_MS);
      await signIn(readerPage, server.httpUrl, reader);
      await readerPage.goto(`${server.httpUrl}/ui/#/${meshName}/route/api/canary`);
      await readerPage.getByLabel('weight of green (number)').fill('100');
      await readerPage.getByLabel('weight of blue (number)').fill('0');
      await readerPage.getByRole('button', { name: 'Apply' }).click();
      await shows(
        readerPage.getByRole('alert'),
        `AccessDeniedException: User: ${reader.keyName} is not authorized to perform: trellis:SetRouteWeights`,
      );
      expect(await routeWeights(meshName)).toEqual({ blue: 100, green: 0 });
    } finally {
      await readerPage.close();
    }
  });

  it('stops live updates of a key revoked while its page is open, saying why', async () => {
    const meshName = uniqueMeshName('console-revoked');
    await createCanaryMesh(appMesh, meshName);
    const leaving = await issueKey('console-leaving', ALLOW_ALL);
    const leavingPage = await browser.newPage();
    try {
      leavingPage.setDefaultTimeout(SHOWN_MS);
      await signIn(leavingPage, server.httpUrl, leaving);
      await leavingPage.goto(`${server.httpUrl}/ui/#/${meshName}`);
      await shows(leavingPage.getByTestId('weight-canary-blue'), /^100$/);
      const revoked = await signedFetch(
        server.httpUrl,
        key,
        'POST',
        `/v1/keys/${leaving.keyName}/revoke`,
        {},
      );
      expect(revoked.status).toBe(200);
      await shows(
        leavingPage.getByTestId('live-updates-stopped'),
        `Live updates stopped: The access key ${leaving.keyName} was revoked`,
      );
    } finally {
      await leavingPage.close();
    }
  });

  it('turns a proxy that NACKs red, with the NACK message', async () => {
    const meshName = uniqueMeshName('console-nack');
    await createCanaryMesh(appMesh, meshName);
    await sidecar(meshName, (weights) => ((weights.green ?? 0) > 0 ? 'nack' : 'ack'));
    await open(`${meshName}/proxies`);
    const row = page.getByTestId('proxies').locator('tbody tr');
    await shows(row, 'SYNCED');

    await open(`${meshName}/route/api/canary`);
    await page.getByLabel('weight of blue (number)').fill('50');
    await page.getByLabel('weight of green (number)').fill('50');
    await page.getByRole('button', { name: 'Apply' }).click();
    await shows(page.getByTestId('propagation'), NACK_MESSAGE);

    await open(`${meshName}/proxies`);
    await shows(row, NACK_MESSAGE);
    const state = row.locator('td.nacked').first();
    expect(await state.textContent()).toBe('NACKED');
    expect(await colorOf(state)).toBe(RED);
    await screenshot(page, 'proxies');
  });

  it('shows a rollout step by step, and an abort from the page restores the weights', async () => {
    const meshName = uniqueMeshName('console-rollout');
    await createCanaryMesh(appMesh, meshName);
    await sidecar(meshName);
    await open(`${meshName}/rollouts`);
    const started = await signedFetch(
      server.httpUrl,
      key,
      'POST',
      `/v1/meshes/${meshName}/rollouts`,
      {
        route: { virtualRouter: 'api', route: 'canary' },
        from: 'blue',
        to: 'green',
        steps: [10, 50, 100],
        interval: '2s',
      },
    );
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    const card = page.getByTestId(`rollout-${id}`);
    const current = card.locator('li', { hasText: 'current step' });
    await shows(current, '10% to green');
    await shows(current, '50% to green');
    await shows(card, 'green 50');
    await screenshot(page, 'rollout');

    await card.getByRole('button', { name: 'abort' }).click();
    await shows(card.getByTestId('rollout-state'), /^Aborted$/);
    await eventually(async () =>
      expect(await routeWeights(meshName)).toEqual({ blue: 100, green: 0 }),
    );
  });

  it('reverts to an earlier revision from history, after confirmation', async () => {
    const meshName = uniqueMeshName('console-history');
    await createCanaryMesh(appMesh, meshName);
    const before = await meshRevision(meshName);
    const put = await signedFetch(
      server.httpUrl,
      key,
      'PUT',
      `/v1/meshes/${meshName}/virtualRouters/api/routes/canary/weights`,
      { targets: { blue: 20, green: 80 } },
    );
    expect(put.status).toBe(200);
    await open(`${meshName}/history`);
    const row = page.locator(`tr[data-revision="${before}"]`);
    await row.getByRole('button', { name: 'Revert to here' }).click();
    // The revert is a new revision on top, by the signed-in key, shown without a reload.
    await shows(page.locator(`tr[data-revision="${before + 2}"]`), key.keyName);
    expect(await routeWeights(meshName)).toEqual({ blue: 100, green: 0 });
    // The revert's diff: the weights it took back.
    const revert = page.locator(`tr[data-revision="${before + 2}"]`);
    await revert.getByText('spec').click();
    await shows(revert.locator('pre').first(), '"weight":20');
    await shows(revert.locator('pre').last(), '"weight":100');
    await screenshot(page, 'history');
  });

  async function meshRevision(meshName: string): Promise<number> {
    const response = await signedFetch(
      server.httpUrl,
      key,
      'GET',
      `/v1/meshes/${meshName}/history?limit=1`,
    );
    return ((await response.json()) as { revision: number }).revision;
  }
});

/** Signs in on the page's header form, as a user does; the key stays in the tab's session. */
async function signIn(page: Page, httpUrl: string, key: Credentials): Promise<void> {
  await page.goto(`${httpUrl}/ui/`);
  await page.getByRole('button', { name: 'Sign in with an access key' }).click();
  await page.getByPlaceholder('Access key id').fill(key.accessKeyId);
  await page.getByPlaceholder('Secret').fill(key.secretAccessKey);
  await page.getByPlaceholder('Region').fill(TEST_REGION);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.getByRole('heading', { name: 'Meshes' }).waitFor();
}

/** Waits until the page shows `text` in `locator` (Playwright waits on the DOM, not a clock). */
async function shows(locator: Locator, text: string | RegExp): Promise<void> {
  try {
    await locator.filter({ hasText: text }).first().waitFor({ timeout: SHOWN_MS });
  } catch (error) {
    const shown = await locator.allTextContents().catch(() => []);
    const alerts = await locator
      .page()
      .getByRole('alert')
      .allTextContents()
      .catch(() => []);
    throw new Error(
      `${String(locator)} never showed ${String(text)}; it shows ${JSON.stringify(shown)}` +
        (alerts.length > 0 ? `; the page says ${JSON.stringify(alerts)}` : ''),
      {
        cause: error,
      },
    );
  }
}

/** A request to the API signed with the key, as the trellis CLI sends it. */
async function signedFetch(
  httpUrl: string,
  key: Credentials,
  method: string,
  pathAndQuery: string,
  body?: unknown,
): Promise<Response> {
  const url = new URL(pathAndQuery, httpUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = await signRequest(
    {
      method,
      url,
      headers: text === undefined ? {} : { 'content-type': 'application/json' },
      body: text,
    },
    { credentials: key, region: TEST_REGION },
  );
  return fetch(url, { method, headers, body: text });
}

/** Writes a screenshot to docs/console when asked (`UPDATE_SCREENSHOTS=1`); it is always taken. */
async function screenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true });
  expect(png.length).toBeGreaterThan(1000);
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(path.join(SCREENSHOTS, `${name}.png`), png);
}

/** The colour the browser renders an element's text in. */
function colorOf(locator: Locator): Promise<string> {
  type Browser = { getComputedStyle(element: unknown): { color: string } };
  return locator.evaluate(
    (element) => (globalThis as unknown as Browser).getComputedStyle(element).color,
  );
}
