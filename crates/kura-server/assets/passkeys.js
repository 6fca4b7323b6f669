// Kura console: passkeys and security keys (IAM-6).
//
// A page with a passkey ceremony carries a form `#passkey-form` whose `data-passkey` says which
// ceremony ("create" to register, "get" to sign in) and whose `data-options` holds the server's
// WebAuthn options as JSON, binary values in base64url. The button `#passkey-go` hands them to
// the browser; its answer is written, as JSON with binary values in base64url, into the form's
// hidden field (`credential` or `passkey`) and the form is posted. The server checks everything;
// this script only carries bytes. Served as a file of the binary: the CSP forbids inline script.
"use strict";

(function () {
  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromB64url(c.id);
      return copy;
    });
  }

  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    return { publicKey: pk };
  }

  function created(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
    if (r.getTransports) out.response.transports = r.getTransports();
    return out;
  }

  function asserted(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  function start() {
    var form = document.getElementById("passkey-form");
    var button = document.getElementById("passkey-go");
    var error = document.getElementById("passkey-error");
    if (!form || !button) return;
    var kind = form.getAttribute("data-passkey");
    var options = JSON.parse(form.getAttribute("data-options"));
    button.addEventListener("click", function () {
      if (error) error.hidden = true;
      if (!window.PublicKeyCredential || !navigator.credentials) {
        if (error) error.hidden = false;
        return;
      }
      button.disabled = true;
      var ceremony = kind === "create"
        ? navigator.credentials.create(creationOptions(options)).then(created)
        : navigator.credentials.get(requestOptions(options)).then(asserted);
      ceremony.then(function (answer) {
        var field = form.querySelector(kind === "create" ? "input[name=credential]" : "input[name=passkey]");
        field.value = JSON.stringify(answer);
        form.submit();
      }).catch(function () {
        button.disabled = false;
        if (error) error.hidden = false;
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
