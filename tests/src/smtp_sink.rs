//! A small SMTP receiver for tests and the benchmark: speaks enough SMTP over tokio TCP (EHLO/HELO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT) to take mail from lettre, and keeps each message's raw bytes.
//! It can be switched to answer `421` at connect and to every command of an open session (down),
//! or `451` to `MAIL` (a temporary refusal), or `550` (a permanent refusal), and back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Accept = 0,
    /// `421` on connect, and to the next command of a session already open: service not available.
    RefuseConnections = 1,
    /// `451` to `MAIL FROM`: try again later.
    Tempfail = 2,
    /// `550` to `RCPT TO`: mailbox unavailable, for good.
    Reject = 3,
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    messages: Mutex<Vec<Received>>,
    attempts: std::sync::atomic::AtomicUsize,
    /// Keep only the envelope, not the bytes (long benchmark runs).
    envelope_only: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl SmtpSink {
    /// Listens on 127.0.0.1, a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Listens on 127.0.0.1:`port` (0: a free one).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept.clone();
                tokio::spawn(async move {
                    let _ = session(stream, &shared).await;
                });
            }
        });
        Ok(Self {
            port,
            shared,
            task: Arc::new(task),
        })
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// From now on keep each message's envelope and time but not its bytes (a soak receives
    /// tens of thousands of emails with PDFs attached).
    pub fn keep_envelopes_only(&self) {
        self.shared.envelope_only.store(true, Ordering::SeqCst);
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.messages.lock().len()
    }

    /// Messages for `address`.
    pub fn messages_to(&self, address: &str) -> Vec<Received> {
        let address = address.to_ascii_lowercase();
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.to_ascii_lowercase() == address))
            .collect()
    }

    /// Connections and `MAIL` commands refused while in an outage mode.
    pub fn refused(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    fn mode(&self) -> Mode {
        mode_of(&self.shared)
    }
}

fn mode_of(shared: &Shared) -> Mode {
    match shared.mode.load(Ordering::SeqCst) {
        1 => Mode::RefuseConnections,
        2 => Mode::Tempfail,
        3 => Mode::Reject,
        _ => Mode::Accept,
    }
}

/// `<a@b>` (with or without parameters) -> `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => &arg[a + 1..b],
        _ => arg.split_whitespace().next().unwrap_or_default(),
    };
    inner.to_owned()
}

async fn session(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if mode_of(shared) == Mode::RefuseConnections {
        shared.attempts.fetch_add(1, Ordering::SeqCst);
        write
            .write_all(b"421 sink.test service not available\r\n")
            .await?;
        return Ok(());
    }
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if mode_of(shared) == Mode::RefuseConnections {
            // Down: sessions already open are closed too, as a server shutting down does.
            shared.attempts.fetch_add(1, Ordering::SeqCst);
            write
                .write_all(b"421 sink.test service not available, closing channel\r\n")
                .await?;
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if mode_of(shared) == Mode::Tempfail {
                shared.attempts.fetch_add(1, Ordering::SeqCst);
                b"451 4.3.0 try again later\r\n"
            } else {
                from = address(&command[10..]);
                to.clear();
                b"250 OK\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            if mode_of(shared) == Mode::Reject {
                b"550 5.1.1 no such mailbox\r\n"
            } else {
                to.push(address(&command[8..]));
                b"250 OK\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = read_data(&mut lines).await?;
            if shared.envelope_only.load(Ordering::Relaxed) {
                data = Vec::new();
            }
            shared.messages.lock().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
                at: Instant::now(),
            });
            b"250 OK queued\r\n"
        } else if upper == "RSET" {
            to.clear();
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// Reads a `DATA` body up to `<CRLF>.<CRLF>`, undoing dot-stuffing.
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(data);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(content);
    }
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpSink(port {}, {:?}, {} messages)",
            self.port,
            self.mode(),
            self.count()
        )
    }
}
