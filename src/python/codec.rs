//! The MSNP codec for Python: `Command` (parse, build, encode), `Decoder` (a byte stream
//! into commands, with direction and limits) and the `MSG` payload helpers (MIME
//! headers, `text/x-msmsgsinvite`, URL-encoded parameters). `msgr.testing.wire` is the
//! public face; the conformance suite and protocol explorers build on it.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::wire::{codec, urlenc, Command, Decoder, Direction, InviteMessage, MimeMessage, WireError};

/// Errors of this module that the core's `WireError` has no variant for.
enum Extra {
    /// `Command.parse` was given fewer bytes than one whole command.
    Incomplete(usize),
    /// `Command.parse` was given more than one command.
    Trailing(usize),
    /// Not one of the two direction names.
    Direction(String),
    /// An argument that is neither text nor a number.
    ArgType(String),
}

/// The `kind` of a [`WireError`], as `msgr.WireError.kind` names it.
fn kind(e: &WireError) -> &'static str {
    match e {
        WireError::LineTooLong { .. } => "line_too_long",
        WireError::BadCommandName(_) => "bad_command_name",
        WireError::BadPayloadLength(_) => "bad_payload_length",
        WireError::PayloadTooLarge { .. } => "payload_too_large",
        WireError::NotUtf8 => "not_utf8",
        WireError::BadParameter(_) => "bad_parameter",
        WireError::NotAnInvitation => "not_an_invitation",
        WireError::BadField(_) => "bad_field",
        WireError::MissingField(_) => "missing_field",
    }
}

/// `msgr.WireError(message, kind)`, built by `msgr.errors._wire`.
fn raise(py: Python<'_>, kind: &str, message: String) -> PyErr {
    let made = py
        .import("msgr.errors")
        .and_then(|m| m.getattr("_wire"))
        .and_then(|f| f.call1((message, kind)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failure) => import_failure,
    }
}

fn wire_err(py: Python<'_>, e: WireError) -> PyErr {
    raise(py, kind(&e), e.to_string())
}

fn extra_err(py: Python<'_>, e: Extra) -> PyErr {
    match e {
        Extra::Incomplete(n) => raise(
            py,
            "incomplete",
            format!("{n} bytes are not a whole command: the line end or part of the payload is missing"),
        ),
        Extra::Trailing(n) => raise(
            py,
            "trailing_data",
            format!("{n} bytes follow the command: parse one command at a time, or use a Decoder"),
        ),
        Extra::Direction(d) => raise(
            py,
            "bad_direction",
            format!("direction must be 'S->C' (server to client) or 'C->S' (client to server), not {d:?}"),
        ),
        Extra::ArgType(t) => raise(
            py,
            "bad_parameter",
            format!("a command argument must be a str or an int, not {t}"),
        ),
    }
}

fn direction(py: Python<'_>, name: &str) -> PyResult<Direction> {
    match name {
        "S->C" => Ok(Direction::ServerToClient),
        "C->S" => Ok(Direction::ClientToServer),
        other => Err(extra_err(py, Extra::Direction(other.to_string()))),
    }
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::ServerToClient => "S->C",
        Direction::ClientToServer => "C->S",
    }
}

/// An argument as text: a `str` as it is, an `int` in decimal (TrIDs, counts).
fn arg_text(arg: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = arg.cast::<PyString>() {
        return Ok(s.to_str()?.to_string());
    }
    if arg.is_instance_of::<pyo3::types::PyBool>() {
        return Err(extra_err(arg.py(), Extra::ArgType("bool".into())));
    }
    if let Ok(n) = arg.extract::<i128>() {
        return Ok(n.to_string());
    }
    let type_name = arg.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(extra_err(arg.py(), Extra::ArgType(type_name)))
}

/// One MSNP command: a name, its parameters as on the wire (still URL-encoded; the TrID
/// and a payload command's byte count included) and an optional payload.
///
/// `Command("VER", 1, "MSNP8", "CVR0")` builds a line; `payload=b"..."` makes a payload
/// command and appends the byte count (`Command("MSG", 4, "A", payload=body)`). Names
/// are three upper-case letters or three digits (an error reply); parameters must be
/// non-empty and free of spaces and control characters. Bad values raise
/// `msgr.WireError`.
#[pyclass(frozen, eq, name = "Command", module = "msgr._core")]
#[derive(PartialEq)]
pub struct PyCommand {
    cmd: Command,
}

impl PyCommand {
    fn from_core(cmd: Command) -> Self {
        PyCommand { cmd }
    }
}

#[pymethods]
impl PyCommand {
    #[new]
    #[pyo3(signature = (name, *args, payload = None))]
    fn new(py: Python<'_>, name: &str, args: &Bound<'_, PyTuple>, payload: Option<Vec<u8>>) -> PyResult<Self> {
        let args = args.iter().map(|a| arg_text(&a)).collect::<PyResult<Vec<String>>>()?;
        let built = match payload {
            Some(payload) => Command::with_payload(name, args, payload),
            None => Command::new(name, args),
        };
        built.map(PyCommand::from_core).map_err(|e| wire_err(py, e))
    }

    /// The command in `data` (bytes, or text encoded as UTF-8), which must hold exactly
    /// one: a line (its CR LF may be left out) and, for a payload command, the whole
    /// payload. `direction` decides whether a payload follows (the client's `QRY` has
    /// one, the server's has not): `"S->C"` (default) or `"C->S"`. Raises
    /// `msgr.WireError` for malformed, incomplete or extra bytes.
    #[staticmethod]
    #[pyo3(signature = (data, direction = "S->C"))]
    fn parse(py: Python<'_>, data: &Bound<'_, PyAny>, direction: &str) -> PyResult<Self> {
        let dir = self::direction(py, direction)?;
        let mut bytes: Vec<u8> = match data.cast::<PyString>() {
            Ok(s) => s.to_str()?.as_bytes().to_vec(),
            Err(_) => data.extract()?,
        };
        // A lone line may come without its line end.
        if !bytes.contains(&b'\n') {
            bytes.extend_from_slice(b"\r\n");
        }
        // No limits of its own: the caller holds every byte already. (A quarter of the
        // address space keeps the decoder's offset arithmetic far from overflowing.)
        let mut dec = Decoder::with_limits(dir, usize::MAX / 4, usize::MAX / 4);
        dec.push(&bytes);
        let Some(cmd) = dec.next_command().map_err(|e| wire_err(py, e))? else {
            return Err(extra_err(py, Extra::Incomplete(bytes.len())));
        };
        // Blank lines after the command are no command, but anything else is one too many.
        let rest = dec.buffered();
        if rest > 0 {
            let trailing = dec.next_command().map_err(|e| wire_err(py, e))?.is_some() || dec.buffered() > 0;
            if trailing {
                return Err(extra_err(py, Extra::Trailing(rest)));
            }
        }
        Ok(PyCommand::from_core(cmd))
    }

    /// `"VER"`, `"MSG"`, or a three-digit error code such as `"540"`.
    #[getter]
    fn name(&self) -> &str {
        &self.cmd.name
    }

    /// Every parameter after the name, as on the wire.
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.cmd.args)
    }

    /// The payload (a payload command's bytes after the line), or None.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.cmd.payload.as_deref().map(|p| PyBytes::new(py, p))
    }

    /// The transaction ID: the first parameter when it is a decimal 32-bit number, and
    /// None for the commands that never carry one (`RNG`, `JOI`, `BYE`, `NLN`, `FLN`,
    /// `OUT`, `NOT`, `IPG`, `QNG`, `PNG`) and for a server's `MSG`.
    #[getter]
    fn trid(&self) -> Option<u32> {
        self.cmd.trid()
    }

    /// True for an error reply (`540 7`): three digits where the name goes.
    #[getter]
    fn is_error(&self) -> bool {
        self.cmd.is_error()
    }

    /// The error code of an error reply (`540`), else None.
    #[getter]
    fn error_code(&self) -> Option<u16> {
        self.cmd.error_code()
    }

    /// The command line without its CR LF.
    #[getter]
    fn line(&self) -> String {
        self.cmd.line()
    }

    /// The wire bytes: the line, CR LF, then the payload (no CR LF after it).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.cmd.encode())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.encode(py)
    }

    /// The line, and the payload decoded as UTF-8 (invalid bytes replaced) after CR LF.
    fn __str__(&self) -> String {
        self.cmd.to_string()
    }

    fn __repr__(&self) -> String {
        match &self.cmd.payload {
            None => format!("Command({:?})", self.cmd.line()),
            Some(p) => format!("Command({:?}, payload=<{} bytes>)", self.cmd.line(), p.len()),
        }
    }
}

/// Incremental decoding of one direction of an MSNP byte stream: `push` bytes as they
/// arrive, `next()` returns the next whole command or None until more bytes come.
/// Results never depend on how the stream was chunked.
///
/// `direction` is `"S->C"` (what a client reads) or `"C->S"` (what a server reads); it
/// decides which commands carry a payload. A line longer than `max_line` bytes or a
/// payload longer than `max_payload` raises `msgr.WireError`, as does anything that is
/// not MSNP; after an error the decoder stays failed (the stream position is lost).
#[pyclass(frozen, name = "Decoder", module = "msgr._core")]
pub struct PyDecoder {
    dir: Direction,
    limits: (usize, usize),
    inner: Mutex<Decoder>,
}

impl PyDecoder {
    fn with<T>(&self, f: impl FnOnce(&mut Decoder) -> T) -> T {
        // A panic while holding the lock cannot leave a decoder half-updated in a way
        // that matters more than the panic itself; keep going with what is there.
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

#[pymethods]
impl PyDecoder {
    #[new]
    #[pyo3(signature = (direction = "S->C", *, max_line = 8192, max_payload = 65536))]
    fn new(py: Python<'_>, direction: &str, max_line: usize, max_payload: usize) -> PyResult<Self> {
        let dir = self::direction(py, direction)?;
        Ok(PyDecoder {
            dir,
            limits: (max_line, max_payload),
            inner: Mutex::new(Decoder::with_limits(dir, max_line, max_payload)),
        })
    }

    /// `"S->C"` or `"C->S"`.
    #[getter]
    fn direction(&self) -> &'static str {
        direction_name(self.dir)
    }

    #[getter]
    fn max_line(&self) -> usize {
        self.limits.0
    }

    #[getter]
    fn max_payload(&self) -> usize {
        self.limits.1
    }

    /// Bytes received but not yet returned as part of a command.
    #[getter]
    fn buffered(&self) -> usize {
        self.with(|d| d.buffered())
    }

    /// Adds bytes that arrived, in any chunking.
    fn push(&self, data: &[u8]) {
        self.with(|d| d.push(data));
    }

    /// The next whole command, or None until more bytes arrive.
    fn next(&self, py: Python<'_>) -> PyResult<Option<PyCommand>> {
        let got = self.with(|d| d.next_command());
        got.map(|c| c.map(PyCommand::from_core)).map_err(|e| wire_err(py, e))
    }

    /// `push(data)`, then every whole command now available, in order.
    fn feed(&self, py: Python<'_>, data: &[u8]) -> PyResult<Vec<PyCommand>> {
        let got = self.with(|d| {
            d.push(data);
            let mut out = Vec::new();
            loop {
                match d.next_command() {
                    Ok(Some(c)) => out.push(c),
                    Ok(None) => return Ok(out),
                    Err(e) => return Err(e),
                }
            }
        });
        got.map(|cmds| cmds.into_iter().map(PyCommand::from_core).collect())
            .map_err(|e| wire_err(py, e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Decoder({:?}, max_line={}, max_payload={}, buffered={})",
            direction_name(self.dir),
            self.limits.0,
            self.limits.1,
            self.buffered()
        )
    }
}

/// Whether a command line (name and parameters) announces a payload in this direction:
/// the byte count is its last parameter (`MSG`, the client's `QRY` and `UUX`, the
/// server's `UBX`, `GCF`, `NOT`, `IPG`).
#[pyfunction]
pub fn payload_follows(py: Python<'_>, direction: &str, name: &str, args: Vec<String>) -> PyResult<bool> {
    Ok(codec::payload_follows(self::direction(py, direction)?, name, &args))
}

/// (header fields in order, body).
type ParsedMessage<'py> = (Vec<(String, String)>, Bound<'py, PyBytes>);

/// A `MSG` payload as (header fields in order, body): the `Name: value` lines up to the
/// first empty line, then the bytes after it. Raises `msgr.WireError` when the headers
/// are not UTF-8.
#[pyfunction]
pub fn parse_message<'py>(py: Python<'py>, payload: &[u8]) -> PyResult<ParsedMessage<'py>> {
    let mime = MimeMessage::parse(payload).map_err(|e| wire_err(py, e))?;
    Ok((mime.headers, PyBytes::new(py, &mime.body)))
}

/// The canonical `text/x-msmsgsinvite` payload for these fields, in order:
/// `MIME-Version: 1.0`, `Content-Type: text/x-msmsgsinvite; charset=UTF-8`, an empty
/// line, one `Name: value` line per field, an empty line (every line CR LF). Raises
/// `msgr.WireError` for a field that cannot travel (an empty name, `:` in a name, CR or
/// LF anywhere) or a payload over the switchboard's 1664 bytes.
#[pyfunction]
pub fn encode_invitation<'py>(py: Python<'py>, fields: Vec<(String, String)>) -> PyResult<Bound<'py, PyBytes>> {
    let msg = InviteMessage { fields };
    let bytes = msg.encode().map_err(|e| wire_err(py, e))?;
    Ok(PyBytes::new(py, &bytes))
}

/// (Invitation-Command or None, fields in order).
type ParsedInvitation = (Option<String>, Vec<(String, String)>);

/// A `text/x-msmsgsinvite` payload as (Invitation-Command or None, [(field, value)]),
/// parsed with the same lenient rules the client uses (unknown fields kept, in order).
/// Raises `msgr.WireError` for another content type or a body that is not UTF-8.
#[pyfunction]
pub fn parse_invitation(py: Python<'_>, payload: &[u8]) -> PyResult<ParsedInvitation> {
    let msg = InviteMessage::parse_payload(payload).map_err(|e| wire_err(py, e))?;
    Ok((msg.command().map(|c| c.as_str().to_string()), msg.fields))
}

/// A parameter as msgr sends it (friendly names, group names): `%`, space, control
/// characters and every non-ASCII byte (as UTF-8) percent-encoded.
#[pyfunction]
pub fn url_encode(text: &str) -> String {
    urlenc::encode(text)
}

/// Every `%XX` decoded (either hex case; a `%` without two hex digits is kept; invalid
/// UTF-8 becomes U+FFFD).
#[pyfunction]
pub fn url_decode(text: &str) -> String {
    urlenc::decode(text)
}

/// The index in `args` (TrID first) of the field of `name` a shared trace hides, if any
/// (`msgr._masking`; the same rule as the `msgr.wire` log).
#[pyfunction]
pub fn secret_field(py: Python<'_>, direction: &str, name: &str, args: Vec<String>) -> PyResult<Option<usize>> {
    Ok(crate::wire::masking::secret_field(
        name,
        &args,
        self::direction(py, direction)?,
    ))
}
