/**
 * An error answered to an AWS SDK client. JSON protocols serialize it as
 * `{"__type": code, "message": …}` with `status` (§1.3); SQS also sends the legacy query code in
 * the `x-amzn-query-error` header (§3.1).
 */
export class AwsError extends Error {
  /** Smithy shape name, e.g. `InvalidTokenException`, `QueueDoesNotExist`. */
  readonly code: string;
  readonly status: number;
  /** SQS only: the awsQueryError code (e.g. `AWS.SimpleQueueService.NonExistentQueue`); defaults to `code`. */
  readonly queryCode: string | undefined;
  /** `Sender` (client fault) or `Receiver` (server fault). */
  readonly faultType: 'Sender' | 'Receiver';
  /** Further members of the error body (the Agreement API's `reason`, `fields`, `resourceId`, …). */
  readonly members: Record<string, unknown>;

  constructor(code: string, message: string, status = 400, queryCode?: string, members: Record<string, unknown> = {}) {
    super(message);
    this.members = members;
    this.name = 'AwsError';
    this.code = code;
    this.status = status;
    this.queryCode = queryCode;
    this.faultType = status >= 500 ? 'Receiver' : 'Sender';
  }
}

/** A model-constraint violation, worded like AWS's "1 validation error detected: …". */
export function validationError(problems: string[]): AwsError {
  const n = problems.length;
  return new AwsError('ValidationException', `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`);
}

/** A body that could not be deserialized (bad JSON, wrong JSON type for a member). */
export function serializationError(message: string): AwsError {
  return new AwsError('SerializationException', message);
}
