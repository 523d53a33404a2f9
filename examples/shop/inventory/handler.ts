/**
 * PLACEHOLDER so that the sample CDK app (bin/app.ts) synthesizes before the inventory service exists: the service
 * library engineer replaces this file with the real inventory service.
 */
export const handler = async (): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> => ({
  statusCode: 501,
  headers: { 'Content-Type': 'application/json' },
  body: '{"message":"Not Implemented"}',
});
