package eventsub

// withoutNUL returns a JSON body with every \u0000 escape inside its strings removed. Both
// databases refuse the NUL character (PostgreSQL in text and in jsonb, even escaped), so a
// message carrying one could never be stored and Twitch would send it again forever; dropped
// here, the names and ids are stored without it and the raw payload stays valid JSON. A body that
// is not valid JSON is returned as it is, for the decoder to refuse.
func withoutNUL(body []byte) []byte {
	var out []byte // nil until the first NUL escape
	inString := false
	for i := 0; i < len(body); i++ {
		b := body[i]
		switch {
		case !inString:
			inString = b == '"'
		case b == '"':
			inString = false
		case b == '\\' && i+1 < len(body):
			if body[i+1] == 'u' && i+6 <= len(body) && string(body[i+2:i+6]) == "0000" {
				if out == nil {
					out = append(make([]byte, 0, len(body)), body[:i]...)
				}
				i += 5
				continue
			}
			if out != nil {
				out = append(out, b)
			}
			i++ // the escaped character cannot end the string
			b = body[i]
		}
		if out != nil {
			out = append(out, b)
		}
	}
	if out == nil {
		return body
	}
	return out
}
