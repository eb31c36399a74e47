//! Email over SMTP with lettre (tokio + rustls, pooled connections): a text and an HTML part from
//! the templates, attachments when the notice has them, and a `Message-ID` derived from the
//! delivery key so that a re-send after a crash can be recognised as the same message.

use std::time::Duration;

use anyhow::Context as _;
use evently_runtime::notify_settings::{NotificationSettings, SmtpTls};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A file attached to an email (the ticket PDF on `tickets_issued`).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One email, ready to send.
#[derive(Debug, Clone)]
pub struct EmailMessage {
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `<id@domain>`, stable for one delivery key.
    pub message_id: String,
    pub attachments: Vec<Attachment>,
}

/// Why an email was not sent.
#[derive(Debug)]
pub enum SendError {
    /// Worth retrying: connection refused or dropped, timeout, 4xx.
    Transient(String),
    /// Will never work: 5xx, an address that does not parse.
    Permanent(String),
}

/// The pooled SMTP transport.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Whether the SMTP server accepts a connection and answers now.
    pub async fn reachable(&self) -> bool {
        self.transport.test_connection().await.unwrap_or(false)
    }

    /// The mailer of these settings, `None` when no SMTP host is configured.
    pub fn from_settings(s: &NotificationSettings) -> anyhow::Result<Option<Self>> {
        let Some(host) = s.smtp_host.as_deref() else {
            return Ok(None);
        };
        let builder = match s.smtp_tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .context("EVENTLY_NOTIFICATIONS__SMTP_HOST (STARTTLS)")?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .context("EVENTLY_NOTIFICATIONS__SMTP_HOST (TLS)")?,
        };
        let mut builder = builder
            .port(s.smtp_port())
            .timeout(Some(Duration::from_secs(s.smtp_timeout_secs)))
            .pool_config(PoolConfig::new().max_size(s.smtp_pool_size));
        if let (Some(user), Some(password)) = (&s.smtp_username, &s.smtp_password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        let from = s
            .from
            .parse::<Mailbox>()
            .context("EVENTLY_NOTIFICATIONS__FROM")?;
        Ok(Some(Self {
            transport: builder.build(),
            from,
        }))
    }

    /// Sends one email.
    pub async fn send(&self, email: &EmailMessage) -> Result<(), SendError> {
        let message =
            build(&self.from, email).map_err(|e| SendError::Permanent(format!("{e:#}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

/// The MIME message: `multipart/alternative` (text, HTML), inside `multipart/mixed` when there are
/// attachments.
pub fn build(from: &Mailbox, email: &EmailMessage) -> anyhow::Result<Message> {
    let address = email
        .to_address
        .parse()
        .with_context(|| format!("recipient address {:?}", email.to_address))?;
    let to = Mailbox::new(Some(email.to_name.clone()), address);
    let alternative = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
    let body = if email.attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &email.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .with_context(|| format!("content type {:?}", a.content_type))?;
            let part: SinglePart = lettre::message::Attachment::new(a.filename.clone())
                .body(a.bytes.clone(), content_type);
            mixed = mixed.singlepart(part);
        }
        mixed
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(email.message_id.clone()))
        .multipart(body)
        .context("building the email")
}

#[cfg(test)]
mod tests {
    use mail_parser::MimeHeaders as _;

    use super::*;

    #[test]
    fn an_email_has_text_html_and_its_attachments() {
        let email = EmailMessage {
            to_name: "Ada".into(),
            to_address: "ada@example.com".into(),
            subject: "Your tickets".into(),
            text: "plain body".into(),
            html: "<p>html body</p>".into(),
            message_id: "<abc@evently>".into(),
            attachments: vec![Attachment {
                filename: "tickets.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.7 fake".to_vec(),
            }],
        };
        let from: Mailbox = "Evently <no-reply@evently.local>".parse().expect("from");
        let raw = build(&from, &email).expect("builds").formatted();
        let parsed = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("parses");
        assert_eq!(parsed.subject(), Some("Your tickets"));
        assert_eq!(parsed.message_id(), Some("abc@evently"));
        assert_eq!(parsed.body_text(0).as_deref(), Some("plain body"));
        assert!(parsed.body_html(0).is_some_and(|h| h.contains("html body")));
        let attachment = parsed.attachment(0).expect("an attachment");
        assert_eq!(attachment.attachment_name(), Some("tickets.pdf"));
        assert_eq!(attachment.contents(), b"%PDF-1.7 fake");
        assert!(
            build(
                &from,
                &EmailMessage {
                    to_address: "not an address".into(),
                    ..email
                }
            )
            .is_err()
        );
    }
}
