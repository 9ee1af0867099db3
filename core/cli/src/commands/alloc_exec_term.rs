//! The local side of `alloc exec`: the terminal's raw mode and size, and the
//! `~.` escape that disconnects.

use std::os::fd::RawFd;

/// The terminal in raw mode until dropped (or [`RawMode::restore`]d).
pub struct RawMode {
    fd: RawFd,
    saved: Option<libc::termios>,
}

impl RawMode {
    /// Puts `fd` in raw mode: keys go to the remote command as typed, and the remote
    /// terminal does the echo and line editing.
    pub fn enable(fd: RawFd) -> std::io::Result<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `saved` is a valid termios to write.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = saved;
        // SAFETY: cfmakeraw edits the termios it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        // SAFETY: `raw` is a valid termios.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(RawMode {
            fd,
            saved: Some(saved),
        })
    }

    /// Gives the terminal back its settings.
    pub fn restore(&mut self) {
        if let Some(saved) = self.saved.take() {
            // SAFETY: `saved` came from tcgetattr on this fd.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &saved) };
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Rows and columns of the terminal on `fd`.
pub fn size(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: `ws` is a valid winsize to write.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Finds `<escape>.` at the start of a line in the typed bytes (ssh's rule):
/// everything before it is sent, then the session ends. `<escape><escape>` sends
/// one escape character.
#[derive(Debug)]
pub struct Escape {
    char: Option<u8>,
    line_start: bool,
    pending: bool,
}

impl Escape {
    /// `None` turns the escape off.
    pub fn new(char: Option<u8>) -> Escape {
        Escape {
            char,
            line_start: true,
            pending: false,
        }
    }

    /// The bytes to send, and whether the user asked to disconnect.
    pub fn filter(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let Some(esc) = self.char else {
            return (input.to_vec(), false);
        };
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending {
                self.pending = false;
                match b {
                    b'.' => return (out, true),
                    _ if b == esc => {
                        out.push(esc);
                        self.line_start = false;
                        continue;
                    }
                    _ => out.push(esc),
                }
            } else if self.line_start && b == esc {
                self.pending = true;
                continue;
            }
            out.push(b);
            self.line_start = matches!(b, b'\r' | b'\n');
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_dot_at_a_line_start_disconnects() {
        let mut e = Escape::new(Some(b'~'));
        assert_eq!(e.filter(b"ls\r"), (b"ls\r".to_vec(), false));
        assert_eq!(e.filter(b"~"), (Vec::new(), false));
        assert_eq!(e.filter(b"."), (Vec::new(), true));

        let mut e = Escape::new(Some(b'~'));
        assert_eq!(e.filter(b"a~.b"), (b"a~.b".to_vec(), false));
        assert_eq!(e.filter(b"\n~~x"), (b"\n~x".to_vec(), false));
        assert_eq!(e.filter(b"\n~x"), (b"\n~x".to_vec(), false));
        assert_eq!(e.filter(b"\nok\n~."), (b"\nok\n".to_vec(), true));

        let mut off = Escape::new(None);
        assert_eq!(off.filter(b"~."), (b"~.".to_vec(), false));
    }
}
