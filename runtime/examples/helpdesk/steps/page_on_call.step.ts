// A TypeScript step, as many Motia projects mix them with Python ones. Motia runs it in Node.js;
// steprunner runs Python steps only, so `steprunner steps` lists this file as skipped.
import { EventConfig, Handlers } from 'motia'

export const config: EventConfig = {
  type: 'event',
  name: 'PageOnCall',
  description: 'Page the on-call engineer about a high-priority ticket',
  subscribes: ['ticket.triaged'],
  emits: [],
  flows: ['helpdesk'],
}

export const handler: Handlers['PageOnCall'] = async (input, { logger }) => {
  if (input.priority === 'high') {
    logger.info('Paging the on-call engineer', { ticketId: input.ticketId })
  }
}
