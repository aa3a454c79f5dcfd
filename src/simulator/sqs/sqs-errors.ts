import { AwsError } from '../aws-error';

/*
 * SQS errors with the awsQueryError codes and statuses of the SDK schema (§3.1 table). In
 * query-compatible JSON mode the SDK takes the code from the `x-amzn-query-error` header.
 */
export const sqsErrors = {
  nonExistentQueue: () =>
    new AwsError('QueueDoesNotExist', 'The specified queue does not exist.', 400, 'AWS.SimpleQueueService.NonExistentQueue'),
  queueNameExists: (name: string) =>
    new AwsError(
      'QueueNameExists',
      `A queue already exists with the same name and a different value for attribute(s) of ${name}`,
      400,
      'QueueAlreadyExists',
    ),
  missingParameter: (name: string) => new AwsError('MissingParameter', `The request must contain the parameter ${name}.`, 400),
  invalidParameterValue: (message: string) => new AwsError('InvalidParameterValue', message, 400),
  invalidAttributeName: (name: string) => new AwsError('InvalidAttributeName', `Unknown Attribute ${name}.`, 400),
  invalidAttributeValue: (name: string, reason: string) =>
    new AwsError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: ${reason}`, 400),
  invalidMessageContents: (reason: string) => new AwsError('InvalidMessageContents', reason, 400),
  receiptHandleIsInvalid: (handle: string) =>
    new AwsError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle.slice(0, 60)}" is not a valid receipt handle.`,
      404,
      'ReceiptHandleIsInvalid',
    ),
  messageNotInflight: () =>
    new AwsError('MessageNotInflight', 'The message referred to is not in flight.', 400, 'AWS.SimpleQueueService.MessageNotInflight'),
  emptyBatch: () =>
    new AwsError(
      'EmptyBatchRequest',
      'There should be at least one entry in the request.',
      400,
      'AWS.SimpleQueueService.EmptyBatchRequest',
    ),
  tooManyEntries: (n: number) =>
    new AwsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${n}.`,
      400,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    ),
  idsNotDistinct: (id: string) =>
    new AwsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct'),
  invalidBatchEntryId: () =>
    new AwsError(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      400,
      'AWS.SimpleQueueService.InvalidBatchEntryId',
    ),
  batchTooLong: (size: number) =>
    new AwsError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than 1048576 bytes. You have sent ${size} bytes.`,
      400,
      'AWS.SimpleQueueService.BatchRequestTooLong',
    ),
  purgeInProgress: (name: string) =>
    new AwsError(
      'PurgeQueueInProgress',
      `Only one PurgeQueue operation on ${name} is allowed every 60 seconds.`,
      403,
      'AWS.SimpleQueueService.PurgeQueueInProgress',
    ),
  unsupported: (what: string) => new AwsError('UnsupportedOperation', what, 400, 'AWS.SimpleQueueService.UnsupportedOperation'),
  throttled: () => new AwsError('RequestThrottled', 'Rate exceeded', 403, 'RequestThrottled'),
  internal: () => new AwsError('InternalError', 'We encountered an internal error. Please try again.', 500, 'InternalError'),
};
