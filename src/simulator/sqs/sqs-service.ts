import { AwsError } from '../aws-error';
import { Queue } from './queue';
import { READ_ONLY_ATTRIBUTES, validateAttributes } from './queue-attributes';
import { MessageOperations, type SqsCallContext } from './sqs-messages';
import { sqsErrors } from './sqs-errors';
import { int, map, str, stringList, type Obj } from './sqs-input';

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The SQS API over an in-memory registry of standard queues. Inputs and outputs have the AWS
 * JSON 1.0 shapes; the Query protocol adapter converts to and from them.
 */
export class SqsService {
  private readonly queues = new Map<string, Queue>();
  private readonly messageOps: MessageOperations;

  constructor(
    private readonly baseUrl: () => string,
    private readonly accountId: string,
    private readonly region: string,
    private readonly now: () => number,
  ) {
    this.messageOps = new MessageOperations(now, (arn) => this.byArn(arn));
  }

  queueUrl(name: string): string {
    return `${this.baseUrl()}/${this.accountId}/${name}`;
  }

  queueArn(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  byName(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  byArn(arn: string): Queue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  /** Resolves a QueueUrl by its path `/<account>/<name>` (any host, as the SDK may rewrite it). */
  resolve(queueUrl: string): Queue {
    let path: string;
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      throw new AwsError('InvalidAddress', `The address ${queueUrl} is not valid for this endpoint.`, 404, 'InvalidAddress');
    }
    const [, account, name, ...rest] = path.split('/');
    const queue = name ? this.queues.get(name) : undefined;
    if (account !== this.accountId || !queue || rest.length > 0) throw sqsErrors.nonExistentQueue();
    return queue;
  }

  /** Creates (or returns, if identical) a queue. */
  createQueue(name: string, attributes: Record<string, string> = {}): Queue {
    if (name.endsWith('.fifo')) throw sqsErrors.unsupported('FIFO queues are not supported by the simulator.');
    if (!QUEUE_NAME.test(name)) {
      throw sqsErrors.invalidParameterValue('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const normalized = validateAttributes(attributes, (arn) => this.byArn(arn) !== undefined);
    const existing = this.queues.get(name);
    if (existing) {
      // CreateQueue is idempotent only when the given attributes match the existing ones.
      for (const [k, v] of Object.entries(normalized)) if (existing.attributes[k] !== v) throw sqsErrors.queueNameExists(name);
      return existing;
    }
    const queue = new Queue(name, this.queueUrl(name), this.queueArn(name), this.now(), normalized);
    this.queues.set(name, queue);
    return queue;
  }

  /** Wakes every long poller so stop() is not held up by a 20 s wait. */
  stop(): void {
    this.messageOps.stopped = true;
    for (const q of this.queues.values()) q.wake();
  }

  /** Dispatches one SQS operation. */
  async call(operation: string, input: Obj, ctx: SqsCallContext): Promise<Obj> {
    switch (operation) {
      case 'CreateQueue': {
        const q = this.createQueue(str(input, 'QueueName', true), stringMap(map(input, 'Attributes')));
        return { QueueUrl: q.url };
      }
      case 'GetQueueUrl': {
        const name = str(input, 'QueueName', true);
        const owner = str(input, 'QueueOwnerAWSAccountId');
        const q = this.queues.get(name);
        if (!q || (owner !== undefined && owner !== this.accountId)) throw sqsErrors.nonExistentQueue();
        return { QueueUrl: q.url };
      }
      case 'ListQueues':
        return this.listQueues(input);
      case 'DeleteQueue': {
        const q = this.resolve(str(input, 'QueueUrl', true));
        this.queues.delete(q.name);
        q.wake();
        return {};
      }
      case 'GetQueueAttributes':
        return { Attributes: this.attributesOf(this.resolve(str(input, 'QueueUrl', true)), stringList(input, 'AttributeNames')) };
      case 'SetQueueAttributes': {
        const q = this.resolve(str(input, 'QueueUrl', true));
        const attrs = map(input, 'Attributes');
        if (!attrs) throw sqsErrors.missingParameter('Attributes');
        Object.assign(
          q.attributes,
          validateAttributes(attrs, (arn) => this.byArn(arn) !== undefined),
        );
        if (q.attributes.RedrivePolicy === '') delete q.attributes.RedrivePolicy;
        q.lastModified = this.now();
        return {};
      }
      case 'PurgeQueue': {
        const q = this.resolve(str(input, 'QueueUrl', true));
        const now = this.now();
        if (now - q.lastPurge < 60_000) throw sqsErrors.purgeInProgress(q.name);
        q.lastPurge = now;
        q.messages.length = 0;
        return {};
      }
      case 'ListDeadLetterSourceQueues': {
        const q = this.resolve(str(input, 'QueueUrl', true));
        const urls = [...this.queues.values()].filter((s) => s.redrivePolicy()?.deadLetterTargetArn === q.arn).map((s) => s.url);
        return { queueUrls: urls };
      }
      case 'SendMessage':
      case 'SendMessageBatch':
      case 'ReceiveMessage':
      case 'DeleteMessage':
      case 'DeleteMessageBatch':
      case 'ChangeMessageVisibility':
      case 'ChangeMessageVisibilityBatch':
        return this.messageOps.call(operation, this.resolve(str(input, 'QueueUrl', true)), input, ctx);
      case 'AddPermission':
      case 'RemovePermission':
      case 'TagQueue':
      case 'UntagQueue':
      case 'ListQueueTags':
      case 'StartMessageMoveTask':
      case 'CancelMessageMoveTask':
      case 'ListMessageMoveTasks':
        throw sqsErrors.unsupported(`${operation} is not supported by the simulator.`);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private listQueues(input: Obj): Obj {
    const prefix = str(input, 'QueueNamePrefix') ?? '';
    const max = int(input, 'MaxResults', 1, 1000);
    const start = Number(str(input, 'NextToken') ? Buffer.from(str(input, 'NextToken')!, 'base64').toString() : 0);
    if (!Number.isInteger(start) || start < 0) throw sqsErrors.invalidParameterValue('Invalid NextToken value.');
    const names = [...this.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
    const page = names.slice(start, start + (max ?? 1000));
    const out: Obj = {};
    if (page.length > 0) out.QueueUrls = page.map((n) => this.queues.get(n)!.url);
    // NextToken is only returned when MaxResults was given and more remain.
    if (max !== undefined && start + max < names.length) out.NextToken = Buffer.from(String(start + max)).toString('base64');
    return out;
  }

  private attributesOf(q: Queue, names: string[]): Record<string, string> {
    const now = this.now();
    const counts = q.counts(now);
    const all: Record<string, string> = {
      ...q.attributes,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(q.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(q.lastModified / 1000)),
      QueueArn: q.arn,
    };
    if (names.length === 0) return {};
    if (names.includes('All')) return all;
    const out: Record<string, string> = {};
    for (const n of names) {
      if (
        !(n in all) &&
        !READ_ONLY_ATTRIBUTES.includes(n) &&
        !['RedrivePolicy', 'Policy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds'].includes(n)
      ) {
        throw sqsErrors.invalidAttributeName(n);
      }
      if (all[n] !== undefined) out[n] = all[n];
    }
    return out;
  }
}

function stringMap(m: Obj | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = v as string; // validated in validateAttributes
  return out;
}
