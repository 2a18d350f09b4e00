package pushertest

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxClockSkew is how far auth_timestamp may be from the server's clock.
const maxClockSkew = 600 * time.Second

// authenticate checks a request's signature as Pusher's HTTP API does:
// HMAC-SHA256 with the app secret over "METHOD\nPATH\nQUERY", where QUERY is
// every parameter but auth_signature with keys lower-cased and sorted.
func (f *Fake) authenticate(r *http.Request, body []byte) error {
	raw, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apiErr(http.StatusBadRequest, "Malformed query string")
	}
	params := make(map[string]string, len(raw))
	for k, vs := range raw {
		lk := strings.ToLower(k)
		if _, dup := params[lk]; dup || len(vs) != 1 {
			return apiErr(http.StatusBadRequest, "Parameter %s given more than once", lk)
		}
		params[lk] = vs[0]
	}

	if params["auth_key"] != f.Key {
		return apiErr(http.StatusUnauthorized, "Unknown auth_key")
	}
	if params["auth_version"] != "1.0" {
		return apiErr(http.StatusUnauthorized, "auth_version must be 1.0")
	}
	if err := f.checkTimestamp(params["auth_timestamp"]); err != nil {
		return err
	}
	if len(body) > 0 || params["body_md5"] != "" {
		sum := md5.Sum(body)
		if params["body_md5"] != hex.EncodeToString(sum[:]) {
			return apiErr(http.StatusUnauthorized, "Invalid body_md5")
		}
	}

	toSign := stringToSign(r.Method, r.URL.Path, params)
	mac := hmac.New(sha256.New, []byte(f.Secret))
	mac.Write([]byte(toSign))
	got, err := hex.DecodeString(params["auth_signature"])
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		// Like Pusher, show the string that should have been signed; it
		// holds no secret and makes client bugs easy to spot.
		return apiErr(http.StatusUnauthorized, "Invalid signature: you should have signed %q", toSign)
	}
	return nil
}

func (f *Fake) checkTimestamp(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return apiErr(http.StatusUnauthorized, "Invalid auth_timestamp %q", ts)
	}
	now := f.clock()
	skew := now.Sub(time.Unix(sec, 0))
	if skew > maxClockSkew || skew < -maxClockSkew {
		return apiErr(http.StatusUnauthorized,
			"Timestamp expired: given timestamp (%d) not within %d s of server time (%d)",
			sec, int(maxClockSkew.Seconds()), now.Unix())
	}
	return nil
}

func stringToSign(method, path string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "auth_signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + params[k]
	}
	return method + "\n" + path + "\n" + strings.Join(pairs, "&")
}

// apiError is an HTTP status with the text body the fake answers with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func apiErr(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}
