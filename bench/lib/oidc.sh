# A local OpenID provider for the authorizer benches, sourced: an RSA key made with openssl,
# its discovery document and key set served as files by python3's http.server, and tokens
# signed with that key. (The README's JWT session builds the same by hand, for users to read.)
#
#   oidc_start DIR PORT        → $issuer set, the server's pid appended to $pids
#   oidc_token PAYLOAD_JSON    → a signed RS256 token (kid k1) on stdout

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

oidc_start() { # dir, port
  oidc_dir=$1
  issuer=http://127.0.0.1:$2/realm
  mkdir -p "$oidc_dir/realm/.well-known"
  openssl genrsa -out "$oidc_dir/key.pem" 2048 2>/dev/null
  local modulus
  modulus=$(openssl rsa -in "$oidc_dir/key.pem" -noout -modulus | cut -d= -f2 | python3 -c \
    'import base64, sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.stdin.read().strip())).rstrip(b"=").decode())')
  printf '{"issuer":"%s","jwks_uri":"%s/keys"}' "$issuer" "$issuer" >"$oidc_dir/realm/.well-known/openid-configuration"
  printf '{"keys":[{"kty":"RSA","kid":"k1","n":"%s","e":"AQAB"}]}' "$modulus" >"$oidc_dir/realm/keys"
  (cd "$oidc_dir" && exec setsid python3 -m http.server "$2" --bind 127.0.0.1 >/dev/null 2>&1) &
  pids+=($!)
}

oidc_token() { # payload JSON
  local header payload
  header=$(printf '{"alg":"RS256","kid":"k1"}' | b64url)
  payload=$(printf '%s' "$1" | b64url)
  printf '%s.%s.%s\n' "$header" "$payload" \
    "$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$oidc_dir/key.pem" | b64url)"
}
