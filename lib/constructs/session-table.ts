/**
 * The one DynamoDB table (users, sessions, refresh-token hashes, login throttling, demo orders), keyed pk/sk.
 * Items carry `expiresAt` in epoch SECONDS so DynamoDB TTL removes expired sessions and tokens by itself
 * (TTL deletion is lazy, up to days late: readers must still check expiry).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** Epoch seconds (a DynamoDB TTL attribute must be a Number in seconds). */
export const TTL_ATTRIBUTE = 'expiresAt';

export interface SessionTableProps {
  /**
   * What happens to the table on `cdk destroy` or when it leaves the template. With RETAIN, deletion
   * protection is on as well.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class SessionTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: SessionTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
      // Logins are bursty and small; on-demand needs no capacity planning and scales to zero cost.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key (aws/dynamodb): every use is in CloudTrail, no key to administer or pay for monthly.
      // The table holds password hashes and token hashes, never a raw secret, so a customer managed key would
      // add cost and a new way to lose the data (key deletion) for little gain.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
  }
}
