/**
 * A broker client for a human command, with the configured access token, acting as a partner
 * of this user when asked (the identity comes from identity.ts).
 */
import { CLI_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { brokerEndpoint } from '../client/endpoint.ts';
import { BrokerClient, type Credentials } from '../client/rest.ts';
import { partnerCredentials, type CliSetup } from './identity.ts';

export interface ActingAs {
  partnerId: string;
  client: BrokerClient;
  setup: CliSetup;
}

/** The identity to act as, with a client holding its secret; DuoError('unauthorized') when none is stored. */
export function actAs(setup: CliSetup, as?: string, timeoutMs = CLI_REQUEST_TIMEOUT_MS): ActingAs {
  const credentials = partnerCredentials(setup, as);
  return { partnerId: credentials.partnerId, client: brokerClient(setup, timeoutMs, credentials), setup };
}

/** A client for the configured broker (with its access token), acting as `credentials` when given. */
export function brokerClient(
  { config, ensureBroker }: CliSetup,
  timeoutMs = CLI_REQUEST_TIMEOUT_MS,
  credentials?: Credentials,
): BrokerClient {
  const endpoint = brokerEndpoint(config);
  const client = new BrokerClient({
    endpoint,
    timeoutMs,
    ...(ensureBroker ? { beforeFirstRequest: () => ensureBroker(config.brokerUrl) } : {}),
  });
  client.setCredentials(credentials);
  return client;
}
