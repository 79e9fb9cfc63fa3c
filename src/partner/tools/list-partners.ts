import { localTime, quoted } from '../../client/display.ts';
import { defineTool, ok } from './common.ts';

export const listPartnersTool = defineTool({
  name: 'list_partners',
  description: 'List the partners on the Duo network: id, display name, online or not, status message.',
  args: {},
  async run(partner) {
    const me = (await partner.requireIdentity()).partnerId;
    const { partners } = await partner.partners();
    if (partners.length === 0) return ok(partner, 'No partners are registered yet.');
    const lines = partners.map((p) => {
      const parts = [`${p.online ? '🟢' : '⚪'} ${p.id}${p.id === me ? ' (you)' : ''}`];
      if (p.name !== p.id) parts.push(`name ${quoted(p.name)}`);
      if (p.status) parts.push(`status ${quoted(p.status)}`);
      if (!p.online && p.lastSeen) parts.push(`last seen ${localTime(p.lastSeen)}`);
      return parts.join(' · ');
    });
    const online = partners.filter((p) => p.online).length;
    return ok(partner, [`👥 ${partners.length} partners, ${online} online:`, ...lines].join('\n'));
  },
});
