import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CreateProductInput, SimEntitlement, SimProduct, Simulator, SubscribeInput } from '../types';
import { agreementRoutes } from './agreement-routes';
import { buyerPage, DEFAULT_CONTRACT_VALUE, overviewPage } from './pages';
import { HttpError, isLoopback, json, parseBody, text } from './respond';

/** What the control routes need besides the public {@link Simulator} API. */
export interface ControlDeps {
  sim: Simulator;
  registrationUrl: string;
  certFileName: string;
  certPem: string;
  queueUrls: () => Record<string, string>;
  confirmEndpoint: (topicArn: string, token: string) => boolean;
  unsubscribeEndpoint: (subscriptionArn: string) => boolean;
}

/** Entitlements from JSON: `expirationDate` as an ISO string or epoch ms. */
/** The entitlements a buyer chose on the overview page's contract form (`entitlement:<dimension>` fields). */
function contractEntitlements(product: SimProduct, form: Record<string, unknown>): SimEntitlement[] {
  return product.dimensions.map((d) => {
    const field = form[`entitlement:${d.name}`];
    const raw = (typeof field === 'string' ? field : DEFAULT_CONTRACT_VALUE[d.type]).trim();
    if (d.type === 'Boolean') return { dimension: d.name, booleanValue: raw === 'true' };
    if (d.type === 'String') return { dimension: d.name, stringValue: raw };
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || n < 0 || (d.type === 'Integer' && !Number.isInteger(n)))
      throw new HttpError(400, `${d.name} must be a ${d.type === 'Integer' ? 'whole ' : ''}number, at least 0`);
    return d.type === 'Integer' ? { dimension: d.name, integerValue: n } : { dimension: d.name, doubleValue: n };
  });
}

function entitlements(value: unknown): SimEntitlement[] {
  if (!Array.isArray(value)) throw new HttpError(400, 'entitlements must be a list');
  return value.map((e: Record<string, unknown>) => {
    if (!e || typeof e.dimension !== 'string') throw new HttpError(400, 'each entitlement needs a dimension');
    const { expirationDate, ...rest } = e;
    const out = { ...rest } as unknown as SimEntitlement;
    if (expirationDate !== undefined) {
      const d = new Date(expirationDate as string | number);
      if (Number.isNaN(d.getTime())) throw new HttpError(400, 'expirationDate is not a date');
      out.expirationDate = d;
    }
    return out;
  });
}

/**
 * `/simulator…` routes. The signing certificate and the SNS Subscribe/Unsubscribe URLs are
 * public (AWS serves them to anyone); everything else — JSON control API and HTML pages —
 * answers only loopback callers.
 */
export async function handleControl(deps: ControlDeps, req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> {
  const { sim } = deps;
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  try {
    if (method === 'GET' && path === `/simulator/${deps.certFileName}`) return text(res, 200, 'application/x-x509-ca-cert', deps.certPem);
    if (method === 'GET' && path === '/simulator/sns') return snsAction(deps, res, url);
    if (!isLoopback(req.socket.remoteAddress)) throw new HttpError(403, 'the simulator control API accepts loopback callers only');

    // HTML pages.
    if (method === 'GET' && path === '/simulator') {
      return text(
        res,
        200,
        'text/html; charset=utf-8',
        overviewPage({
          url: sim.url,
          products: sim.products(),
          subscriptions: sim.subscriptions(),
          billed: sim.billed(),
          cancellationRequests: sim.cancellationRequests(),
          billingAdjustments: sim.billingAdjustments(),
          now: sim.now(),
          queues: deps.queueUrls(),
          registrationUrl: deps.registrationUrl,
        }),
      );
    }
    let m = /^\/simulator\/buyer\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const id = decodeURIComponent(m[1]!);
      const s = sim.subscription(id);
      // Every "Set up your account" click gets a fresh token, as on AWS.
      const token = sim.newRegistrationToken(id);
      return text(
        res,
        200,
        'text/html; charset=utf-8',
        buyerPage({ registrationUrl: deps.registrationUrl, token, freeTrial: s.freeTrial, productCode: s.productCode }),
      );
    }
    const form = method === 'POST' ? parseBody(req, body) : {};
    if (await agreementRoutes(sim, res, method, path, form, entitlements)) return;
    if (method === 'POST' && path === '/simulator/ui/subscribe') {
      const productCode = typeof form.productCode === 'string' ? form.productCode : '';
      const product = sim.products().find((p) => p.productCode === productCode);
      // A contract is bought with quantities: from the form's fields, or the defaults a buyer would see.
      const contract = product && product.pricingModel !== 'subscription' ? contractEntitlements(product, form) : undefined;
      const s = await sim.subscribe({ productCode, freeTrial: form.freeTrial === 'true', ...(contract ? { entitlements: contract } : {}) });
      res.writeHead(303, { location: `/simulator/buyer/${encodeURIComponent(s.id)}` });
      return void res.end();
    }
    m = /^\/simulator\/ui\/subscriptions\/([^/]+)\/(confirm|cancel|fail-payment|end)$/.exec(path);
    if (method === 'POST' && m) {
      await lifecycleAction(sim, decodeURIComponent(m[1]!), m[2]!, form);
      res.writeHead(303, { location: '/simulator' });
      return void res.end();
    }

    // JSON control API.
    if (method === 'GET' && path === '/simulator/api/state') {
      return json(res, 200, {
        url: sim.url,
        products: sim.products(),
        subscriptions: sim.subscriptions(),
        queues: deps.queueUrls(),
        signingCertUrl: sim.signingCert.url,
      });
    }
    if (method === 'POST' && path === '/simulator/api/products')
      return json(res, 201, sim.createProduct(form as unknown as CreateProductInput));
    if (method === 'POST' && path === '/simulator/api/subscriptions') {
      const input = { ...form } as unknown as SubscribeInput;
      if (form.entitlements !== undefined) input.entitlements = entitlements(form.entitlements);
      return json(res, 201, await sim.subscribe(input));
    }
    m = /^\/simulator\/api\/subscriptions\/([^/]+)(?:\/([a-z-]+))?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      const action = m[2];
      if (method === 'GET' && !action) return json(res, 200, sim.subscription(id));
      if (method === 'POST' && action === 'token') return json(res, 200, { registrationToken: sim.newRegistrationToken(id) });
      if ((method === 'PUT' || method === 'POST') && action === 'entitlements') {
        await sim.setEntitlements(id, entitlements(form.entitlements ?? parseBody(req, body).entitlements));
        return json(res, 200, sim.subscription(id));
      }
      if (method === 'POST' && action) {
        await lifecycleAction(sim, id, action, form);
        return json(res, 200, sim.subscription(id));
      }
    }
    if (method === 'GET' && path === '/simulator/api/billed') {
      const filter = {
        ...(url.searchParams.get('productCode') ? { productCode: url.searchParams.get('productCode')! } : {}),
        ...(url.searchParams.get('customer') ? { customer: url.searchParams.get('customer')! } : {}),
      };
      return json(res, 200, sim.billed(filter));
    }
    if (method === 'GET' && path === '/simulator/api/metering-log') return json(res, 200, sim.meteringLog());
    if (method === 'PUT' && path === '/simulator/api/faults') {
      sim.setFaults(parseBody(req, body));
      return json(res, 200, { ok: true });
    }
    m = /^\/simulator\/api\/queues\/([^/]+)\/messages$/.exec(path);
    if (method === 'POST' && m) {
      if (typeof form.body !== 'string') throw new HttpError(400, 'body (string) is required');
      await sim.publishRaw(decodeURIComponent(m[1]!), form.body);
      return json(res, 201, { ok: true });
    }
    if (method === 'POST' && path === '/simulator/api/http-endpoints') {
      const topic = form.topic === 'entitlement' ? 'entitlement' : 'subscription';
      if (typeof form.url !== 'string') throw new HttpError(400, 'url is required');
      return json(
        res,
        201,
        await sim.subscribeHttpEndpoint(topic, form.url, typeof form.productCode === 'string' ? { productCode: form.productCode } : {}),
      );
    }
    if (method === 'POST' && path === '/simulator/api/notifications/flush') {
      await sim.flushNotifications();
      return json(res, 200, { ok: true });
    }
    throw new HttpError(404, `no route ${method} ${path}`);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : /^unknown /.test((err as Error).message) ? 404 : 400;
    json(res, status, { error: (err as Error).message });
  }
}

async function lifecycleAction(sim: Simulator, id: string, action: string, form: Record<string, unknown>): Promise<void> {
  if (action === 'confirm') return sim.confirm(id);
  if (action === 'fail-payment') return sim.failPayment(id);
  if (action === 'end') return sim.endNow(id);
  if (action === 'cancel') {
    const after = form.endAfterMs === undefined ? undefined : Number(form.endAfterMs);
    return sim.cancel(id, after !== undefined && Number.isFinite(after) ? { endAfterMs: after } : {});
  }
  throw new HttpError(404, `unknown action ${action}`);
}

/** SNS SubscribeURL / UnsubscribeURL (§4.2): answered with SNS-style XML. */
function snsAction(deps: ControlDeps, res: ServerResponse, url: URL): void {
  const action = url.searchParams.get('Action');
  const xml = (status: number, inner: string) => text(res, status, 'text/xml', `<?xml version="1.0"?>${inner}`);
  if (action === 'ConfirmSubscription') {
    const topicArn = url.searchParams.get('TopicArn') ?? '';
    if (deps.confirmEndpoint(topicArn, url.searchParams.get('Token') ?? '')) {
      return xml(
        200,
        `<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>${topicArn.replace(/[<>&]/g, '')}</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`,
      );
    }
    return xml(
      400,
      '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid token</Message></Error></ErrorResponse>',
    );
  }
  if (action === 'Unsubscribe' && deps.unsubscribeEndpoint(url.searchParams.get('SubscriptionArn') ?? '')) {
    return xml(200, '<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata/></UnsubscribeResponse>');
  }
  return xml(
    400,
    '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid action or subscription</Message></Error></ErrorResponse>',
  );
}
