//! Process exit codes, shared by every command, and the order in which they win.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | bad input |
//! | 2 | `verify` found problems (integrity or signature) |
//! | 3 | a scan collected nothing |
//! | 4 | a `--fail-on` condition matched |
//! | 5 | events left undelivered in a sink's spool (or refused by a full spool, or rejected by a sink) |
//! | 130 | interrupted |
//!
//! When several apply, the first in [`PRECEDENCE`] wins: 130, 1, 3, 2, 5, 4 (see `docs/exit-codes.md`).

/// Success.
pub const OK: u8 = 0;
/// Bad input: unreadable pack or results, broken mapping or config file, bad arguments.
pub const INPUT: u8 = 1;
/// `verify` found a missing, extra or altered file (or a bad signature).
pub const VERIFY_FAILED: u8 = 2;
/// A scan could collect nothing at all.
pub const NOTHING_COLLECTED: u8 = 3;
/// A `--fail-on` condition matched.
pub const FAIL_ON: u8 = 4;
/// Events stay undelivered: left in a sink's spool, refused by a full spool, or rejected by a sink.
pub const UNDELIVERED: u8 = 5;
/// Ctrl-C cut the run short.
pub const INTERRUPTED: u8 = 130;

/// Which code wins when several apply: earlier wins. Success loses to everything.
pub const PRECEDENCE: [u8; 6] = [
    INTERRUPTED,
    INPUT,
    NOTHING_COLLECTED,
    VERIFY_FAILED,
    UNDELIVERED,
    FAIL_ON,
];

fn rank(code: u8) -> usize {
    PRECEDENCE
        .iter()
        .position(|&c| c == code)
        .unwrap_or(PRECEDENCE.len() + usize::from(code != OK))
}

/// The code to exit with when both `a` and `b` apply.
pub fn combine(a: u8, b: u8) -> u8 {
    // An unknown non-zero code ranks after the known ones but before success.
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

/// The code to exit with when all of `codes` apply (0 when none is given).
pub fn combine_all(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().fold(OK, combine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_in_the_order_wins() {
        assert_eq!(combine(OK, UNDELIVERED), UNDELIVERED);
        assert_eq!(combine(UNDELIVERED, OK), UNDELIVERED);
        assert_eq!(combine(FAIL_ON, UNDELIVERED), UNDELIVERED);
        assert_eq!(combine(UNDELIVERED, VERIFY_FAILED), VERIFY_FAILED);
        assert_eq!(combine(VERIFY_FAILED, NOTHING_COLLECTED), NOTHING_COLLECTED);
        assert_eq!(combine(NOTHING_COLLECTED, INPUT), INPUT);
        assert_eq!(combine(INPUT, INTERRUPTED), INTERRUPTED);
        assert_eq!(
            combine_all([FAIL_ON, UNDELIVERED, NOTHING_COLLECTED]),
            NOTHING_COLLECTED
        );
        assert_eq!(combine_all([]), OK);
        // Every pair, both ways: the result is whichever comes first in PRECEDENCE.
        for (i, &a) in PRECEDENCE.iter().enumerate() {
            for &b in &PRECEDENCE[i..] {
                assert_eq!(combine(a, b), a);
                assert_eq!(combine(b, a), a);
            }
            assert_eq!(combine(a, OK), a);
        }
    }
}
