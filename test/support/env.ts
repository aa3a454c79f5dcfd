// Test runs never reach real AWS: dummy credentials, a fixed region, no Node-version nag.
process.env.AWS_ACCESS_KEY_ID ??= 'AKIDTESTTESTTEST';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
