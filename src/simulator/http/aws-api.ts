import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from '../aws-error';
import type { FaultInjector } from '../faults/fault-injector';
import type { QuotaLimiter } from '../faults/quota';
import { uuid } from '../ids';
import { InputReader } from '../json-input';
import { agreementErrors } from '../agreement/agreement-input';
import { callerOf, type AgreementService } from '../agreement/agreement-service';
import type { BillingLedger } from '../marketplace/billing-ledger';
import type { EntitlementService } from '../marketplace/entitlement-service';
import type { MeteringService } from '../marketplace/metering-service';
import { parseQueryRequest, queryError, queryResponse } from '../sqs/query-protocol';
import type { SqsService } from '../sqs/sqs-service';
import { checkCredential } from './auth';

type Obj = Record<string, unknown>;

/** The services behind the AWS endpoints. */
export interface AwsBackends {
  metering: MeteringService;
  entitlement: EntitlementService;
  agreement: AgreementService;
  sqs: SqsService;
  ledger: BillingLedger;
  faults: FaultInjector;
  quotas: QuotaLimiter;
  region: string;
  requireSignature: boolean;
  log: (line: string) => void;
}

interface Service {
  name: 'metering' | 'entitlement' | 'agreement' | 'sqs';
  signingName: string;
  contentType: string;
}

/** `X-Amz-Target` prefixes (§1.2, §2.1, §3.1, §5.5). */
const SERVICES: Record<string, Service> = {
  AWSMPMeteringService: { name: 'metering', signingName: 'aws-marketplace', contentType: 'application/x-amz-json-1.1' },
  AWSMPEntitlementService: { name: 'entitlement', signingName: 'aws-marketplace', contentType: 'application/x-amz-json-1.1' },
  AWSMPCommerceService_v20200301: { name: 'agreement', signingName: 'aws-marketplace', contentType: 'application/x-amz-json-1.0' },
  AmazonSQS: { name: 'sqs', signingName: 'sqs', contentType: 'application/x-amz-json-1.0' },
};

const METERING_OPERATIONS = new Set(['ResolveCustomer', 'BatchMeterUsage', 'MeterUsage', 'RegisterUsage']);

function throttled(service: Service['name']): AwsError {
  if (service === 'agreement') return agreementErrors.throttling();
  return service === 'sqs'
    ? new AwsError('RequestThrottled', 'Rate exceeded', 403, 'RequestThrottled')
    : new AwsError('ThrottlingException', 'Rate exceeded');
}

function serverError(service: Service['name']): AwsError {
  if (service === 'agreement') return agreementErrors.internal();
  return service === 'sqs'
    ? new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500, 'InternalError')
    : new AwsError('InternalServiceErrorException', 'An internal error has occurred. Retry your request.', 500);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Answers AWS API calls: JSON 1.1 (metering, entitlement), JSON 1.0 with query compatibility
 * (SQS) and the SQS Query protocol. Applies signature scope checks, quotas and injected faults
 * before the service logic; never lets an exception escape as a crash.
 */
export class AwsApi {
  constructor(private readonly b: AwsBackends) {}

  /** A call with an `X-Amz-Target` header. */
  async json(req: IncomingMessage, res: ServerResponse, target: string, body: string, signal: AbortSignal): Promise<void> {
    const requestId = uuid();
    const dot = target.indexOf('.');
    const service = SERVICES[dot > 0 ? target.slice(0, dot) : ''];
    const operation = dot > 0 ? target.slice(dot + 1) : target;
    const queryMode = req.headers['x-amzn-query-mode'] === 'true';
    const send = (status: number, payload: Obj, extra: Record<string, string> = {}) => {
      if (res.destroyed) return;
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': service?.contentType ?? 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'content-length': Buffer.byteLength(text),
        ...extra,
      });
      res.end(text);
    };
    try {
      if (!service) throw new AwsError('UnknownOperationException', `Unknown target ${target.slice(0, 100)}`);
      const parse = () => {
        // "The request must be less than 1 MB" (BatchMeterUsage, §1.6).
        if ((service.name === 'metering' || service.name === 'entitlement') && Buffer.byteLength(body) >= 1_048_576)
          throw new AwsError('ValidationException', 'Request size must be less than 1 MB.');
        return InputReader.parse(body);
      };
      const output = await this.run(req, res, service, operation, parse, undefined, signal);
      if (output) send(200, output);
    } catch (err) {
      const e = err instanceof AwsError ? err : serverError(service?.name ?? 'metering');
      if (!(err instanceof AwsError)) this.b.log(`internal error in ${target}: ${(err as Error).stack ?? String(err)}`);
      const type = service?.name === 'sqs' ? `com.amazonaws.sqs#${e.code}` : e.code;
      const extra: Record<string, string> = { 'x-amzn-errortype': e.code };
      if (service?.name === 'sqs' && queryMode) extra['x-amzn-query-error'] = `${e.queryCode ?? e.code};${e.faultType}`;
      // Agreement API errors carry requestId (and reason/fields/resourceId per shape) in the body.
      const members = service?.name === 'agreement' ? { requestId, ...e.members } : {};
      send(e.status, { __type: type, message: e.message, ...members }, extra);
    }
  }

  /** A form-encoded SQS Query call (`Action=…`). */
  async query(req: IncomingMessage, res: ServerResponse, body: string, signal: AbortSignal): Promise<void> {
    const requestId = uuid();
    const send = (status: number, xml: string) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
    };
    const { operation, input } = parseQueryRequest(body);
    try {
      if (!operation) throw new AwsError('MissingAction', 'The request must contain the parameter Action.', 400, 'MissingAction');
      const output = await this.run(req, res, SERVICES.AmazonSQS!, operation, () => input, new URLSearchParams(body), signal);
      if (output) send(200, queryResponse(operation, output, requestId));
    } catch (err) {
      const e = err instanceof AwsError ? err : serverError('sqs');
      if (e.code === 'UnknownOperationException')
        send(
          400,
          queryError(
            new AwsError('InvalidAction', `The action ${operation} is not valid for this web service.`, 400, 'InvalidAction'),
            requestId,
          ),
        );
      else send(e.status, queryError(e, requestId));
    }
  }

  /** Common path; returns undefined when the connection was deliberately dropped. */
  private async run(
    req: IncomingMessage,
    res: ServerResponse,
    service: Service,
    operation: string,
    input: () => Obj,
    form: URLSearchParams | undefined,
    signal: AbortSignal,
  ): Promise<Obj | undefined> {
    const isMetering = service.name === 'metering' && METERING_OPERATIONS.has(operation);
    try {
      const credential = checkCredential(req, form, service.signingName, this.b.region, this.b.requireSignature);
      const decision = this.b.faults.decide(operation);
      if (decision.latencyMs > 0) await sleep(decision.latencyMs);
      if (decision.action === 'drop') {
        this.b.log(`fault: dropping connection of ${operation}`);
        if (isMetering) this.b.ledger.note(operation, 'dropped');
        req.socket.destroy();
        res.destroy();
        return undefined;
      }
      if (decision.action === 'throttle' || !this.b.quotas.admit(operation)) throw throttled(service.name);
      if (decision.action === 'server-error') throw serverError(service.name);
      let output: Obj;
      if (service.name === 'agreement') {
        // The Agreement API documents ValidationException for malformed input (no SerializationException).
        let body: Obj;
        try {
          body = input();
        } catch (e) {
          if (e instanceof AwsError && e.code !== 'ValidationException') throw agreementErrors.validation('OTHER', e.message);
          throw e;
        }
        output = this.b.agreement.call(operation, body, callerOf(credential.accessKeyId));
        this.b.log(`${operation} → 200`);
        return output;
      }
      const body = input();
      if (service.name === 'metering')
        output = this.b.metering.call(operation, body, { accessKeyId: credential.accessKeyId, faults: decision });
      else if (service.name === 'entitlement') output = this.b.entitlement.call(operation, body);
      else output = await this.b.sqs.call(operation, body, { senderId: credential.accessKeyId, signal });
      if (isMetering && operation !== 'BatchMeterUsage' && operation !== 'MeterUsage') this.b.ledger.note(operation, 'Success');
      this.b.log(`${operation} → 200`);
      return output;
    } catch (err) {
      if (err instanceof AwsError) {
        if (isMetering) this.b.ledger.note(operation, err.code, { message: err.message });
        this.b.log(`${operation} → ${err.status} ${err.code}: ${err.message}`);
      }
      throw err;
    }
  }
}
