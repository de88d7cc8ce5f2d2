//! The report's sections on the audit trail's write units, limited keys and the simulated fleet.

use std::fmt::Write as _;

use crate::audit::ChangeCost;
use crate::limited::{FleetRun, LimitedHot};
use crate::stats::{ms, ratio, Samples};

/// DynamoDB's ceilings for one item (one partition) a second.
pub const ITEM_WRITE_UNITS: f64 = 1_000.0;
pub const ITEM_READ_UNITS: f64 = 3_000.0;
pub const HOT_TARGET: f64 = 1.15;

fn units(u: f64) -> String {
    if u.fract() == 0.0 {
        format!("{u:.0}")
    } else {
        format!("{u:.1}")
    }
}

pub fn audit(s: &mut String, costs: &[ChangeCost]) {
    s.push_str("## What the audit trail costs a change\n\nEach change through its handler with the DynamoDB store; write units as DynamoDB Local reports them (`ReturnConsumedCapacity: INDEXES` set by an interceptor), table and indexes apart. Beside it, the change's key item written alone with one PutItem — what the change cost before it was audited — and its audit record alone. A transaction's writes cost twice a plain write's.\n\n| change | calls | units per call now (table + indexes) | same every call | key item alone | audit record alone | 2 × (key + record) |\n|---|---:|---:|---|---:|---:|---:|\n");
    for c in costs {
        let alone = c.key_alone.writes() + c.record_alone.writes();
        let _ = writeln!(
            s,
            "| {} | {} | **{}** ({} + {}) | {} | {} | {} | {} |",
            c.name,
            c.calls,
            units(c.now.writes()),
            units(c.now.table_writes),
            units(c.now.index_writes),
            if c.uniform { "yes" } else { "no" },
            units(c.key_alone.writes()),
            units(c.record_alone.writes()),
            units(2.0 * alone),
        );
    }
    s.push_str("\nEvery change is still one write call (a TransactWriteItems of the key's write and its record); its price went from the key item's units to twice the key's and the record's. Updates, replaces and deletes also read the caller and the key (one BatchGetItem, 1 read unit each).\n\n");
}

pub fn hot(s: &mut String, h: &LimitedHot, warmup: usize) -> (f64, f64) {
    let g = h.bare_get.p50();
    let u = h.bare_update.p50();
    let _ = writeln!(
        s,
        "## Keys with limits\n\n{} calls of each, interleaved in rotating order after {} warm-up rounds, the real clock. The limited key has a rate limit of 1,000,000 a minute and a quota of 10⁹ (no refill): every call reads the key, and its calls are charged from leases — {} lease writes in all over its {} calls. The small quota (999 calls, topped back up outside the timing) is charged one call at a time by a conditional write that stands in for the read; its bare counterpart is a conditional `ADD -1` returning the item, on a key item of the same size.\n",
        h.iterations, warmup, h.limited_writes, h.iterations
    );
    s.push_str(
        "| measurement | p50 ms | p99 ms | ratio at p50 | target |\n|---|---:|---:|---:|---|\n",
    );
    let row = |s: &mut String,
               name: &str,
               x: &Samples,
               base: std::time::Duration,
               of: &str,
               target: &str| {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {:.3}× {of} | {target} |",
            ms(x.p50()),
            ms(x.p99()),
            ratio(x.p50(), base)
        );
    };
    row(s, "bare GetItem (consistent)", &h.bare_get, g, "GetItem", "");
    row(s, "`handle`, key without limits", &h.unlimited, g, "GetItem", "unchanged");
    row(s, "`handle`, limited key (leases)", &h.limited, g, "GetItem", "≤ 1.15×");
    row(s, "bare conditional UpdateItem (`ADD -1`, ALL_NEW)", &h.bare_update, u, "UpdateItem", "");
    row(
        s,
        "`handle`, small quota (one-call charge, no read)",
        &h.small_quota,
        u,
        "UpdateItem",
        "≤ 1.15×",
    );
    s.push('\n');
    (ratio(h.limited.p50(), g), ratio(h.small_quota.p50(), u))
}

pub fn fleet(s: &mut String, runs: &[FleetRun], scale: usize) -> bool {
    s.push_str("## A simulated fleet on one hot key\n\n");
    if scale > 1 {
        let _ = writeln!(s, "**A quick run: instances, rates, limits and quotas divided by {scale}**; the scale targets are not judged, the bounds are.\n");
    }
    s.push_str("Many authorizer instances share one simulated clock (a `FixedClock` the bench moves) and one key; calls go to the instances in turn at the offered rate, and every DynamoDB request is real, counted by the interceptor and priced by DynamoDB Local's consumed capacity. Figures are per simulated second on the key's item: the first second (every instance starts cold, its leases growing from one call), then the busiest second after it. DynamoDB serves one item at most 1,000 write units and 3,000 read units a second (a consistent read of an item under 4 KB is one read unit); index units land on the indexes' partitions, not the item's.\n\n| scenario | instances | calls/s × s | allowed | reads/s | writes/s: first, then | item write units/s: first, then | index write units/s: first, then | bound | met |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    let mut ok_all = true;
    let pair = |(first, rest): (f64, Option<f64>)| match rest {
        Some(r) => format!("{}, {}", units(first), units(r)),
        None => units(first),
    };
    for r in runs {
        let item_units = r.busiest(|x| x.table_write_units);
        let peak_item_units = item_units.1.map_or(item_units.0, |x| x.max(item_units.0));
        let (bound, ok) = match (r.limit, r.quota) {
            (Some(limit), _) if r.allowed < r.calls => (
                format!(
                    "≤ {limit} allowed a window: most in one window {}",
                    r.max_allowed_per_window
                ),
                r.max_allowed_per_window <= limit,
            ),
            (_, Some(q)) if r.allowed < r.calls => (
                format!(
                    "≤ {q} allowed; allowed + left after give-back: {}",
                    r.quota_left.unwrap_or(0)
                ),
                r.allowed <= q && r.quota_left == Some(q),
            ),
            (Some(_), _) | (_, Some(_)) if scale > 1 => (
                format!("{} item write units/s (not judged at this scale)", units(peak_item_units)),
                r.allowed == r.calls,
            ),
            (Some(_), _) | (_, Some(_)) => (
                format!("item ≤ {ITEM_WRITE_UNITS} write units/s at ≥ 5,000 calls/s"),
                peak_item_units <= ITEM_WRITE_UNITS && r.rate >= 5_000 && r.allowed == r.calls,
            ),
            (None, None) => {
                let reads = r.busiest(|x| x.read_units);
                let peak = reads.1.map_or(reads.0, |x| x.max(reads.0));
                (format!("{} read units/s of {ITEM_READ_UNITS}", units(peak)), r.allowed == r.calls)
            }
        };
        ok_all &= ok;
        let reads = r.busiest(|x| x.reads as f64);
        let _ = writeln!(
            s,
            "| {} | {} | {} × {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.instances,
            r.rate,
            r.seconds,
            r.allowed,
            r.calls,
            pair(reads),
            pair(r.busiest(|x| x.writes as f64)),
            pair(item_units),
            pair(r.busiest(|x| x.index_write_units)),
            bound,
            if ok { "met" } else { "**not met**" }
        );
    }
    s.push_str("\nWrites per limited key grow with instances, not calls: once warm, an instance writes about a rate lease, a quota lease and a give-back a second, plus its usage write once a minute; a cold instance's leases double from one call, so the first second writes more. Every write to the key item is also written to the two indexes that hold it (they project every attribute), at one unit each. Reads stay one per call: a limited key past 3,000 calls a second is read-bound on real DynamoDB (the in-process memo never holds limited keys, so revocation stays immediate). An unlimited key reads once per call by default; the one-second memo (`AuthorizerInProcessCacheTtl = 1`) makes it one read per instance per second.\n\n");
    ok_all
}
