//! The detach key sequence (podman's ctrl-p,ctrl-q by default) found in a terminal's input:
//! used by `attach` (client of a monitor) and by `exec -it` (relaying its own pty).

/// Finds the detach sequence in the input stream, across reads.
pub struct DetachMatcher<'a> {
    keys: &'a [u8],
    matched: usize,
}

impl<'a> DetachMatcher<'a> {
    /// A matcher for `keys` (parsed by `cli::attach::parse_detach_keys`); empty never matches.
    pub fn new(keys: &'a [u8]) -> DetachMatcher<'a> {
        DetachMatcher { keys, matched: 0 }
    }

    /// Splits `input` into the bytes to forward, and whether the sequence completed (the rest of
    /// the input is then dropped). A partial match is held back until the next byte decides.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return (out, false);
        }
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
                continue;
            }
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}
