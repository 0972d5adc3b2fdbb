/*
 * com.atproto.sync.subscribeRepos: the event log (events.c) streamed
 * to WebSocket consumers, replayed from a cursor, then live.
 */
#ifndef PDSD_FIREHOSE_H
#define PDSD_FIREHOSE_H

/* Hook into the event log and start pruning; idempotent. */
int	firehose_init(void);
/* Consumers connected now. */
unsigned int firehose_nconsumers(void);

#endif
