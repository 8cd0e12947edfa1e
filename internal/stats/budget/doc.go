// Package budget keeps each requester's privacy budget on a Kafka topic,
// passerelle.stats.budget.v1, so that every gateway instance, and every
// restart of one, agrees on what has been spent.
//
// Non-obvious facts this package is built around:
//
//   - The log decides, not the writer. A spend is appended first, whatever
//     the budget looks like; its verdict is then computed by replaying the
//     topic in offset order: ACCEPTED iff what the requester had spent on
//     the rule in the period, plus the spend, is within the budget written
//     in the record; otherwise REFUSED (it stays in the log and counts for
//     nothing). Every reader reads the same records in the same order, so
//     every reader reaches the same verdicts, and fifty concurrent spends
//     across instances need no lock: the broker's order is the lock.
//   - A writer learns its verdict by waiting until its own follower has
//     read past the offset the broker gave its record. Until then it knows
//     nothing, since any instance may have appended before it.
//   - The topic has one partition (a total order) and is never compacted:
//     a tombstone would erase spends and give budget back.
//   - A produce retried after a timeout can land twice, possibly before the
//     offset its caller is told. Duplicates are recognised by id, and the
//     verdict of an id is the one of its first copy in the log: Spend looks
//     its verdict up by id, not by offset. A caller whose Spend failed
//     retries with the same id and learns what became of the first try;
//     with a new id it would spend twice.
//   - Accounting is in micro-epsilon integers, so that sums are exact and
//     every reader's arithmetic is the same.
package budget
