// application/x-www-form-urlencoded decoding on Boost.URL's percent-decoding.
//
// Splitting at '&' and '=' is done here rather than with boost::urls::parse_query: that
// function applies RFC 3986's query grammar, so it rejects whole bodies over bytes that form
// encoders in the wild do leave unescaped (raw UTF-8, spaces, quotes) and which a form body
// may carry, and its error does not say which field failed. Boost.URL still does the parts
// that matter: make_pct_string_view validates the escapes (and only the escapes), and
// decoding with encoding_opts::space_as_plus turns '+' into a space.
#include "net/form.hpp"

#include <algorithm>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>
#include <string>
#include <utility>

namespace voxgate::net {
namespace {

namespace urls = boost::urls;

FormParseResult failure(FormError error, std::string message) {
  FormParseResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

std::string where(std::size_t field_number, std::size_t offset) {
  return "field " + std::to_string(field_number) + " (byte " + std::to_string(offset) + ")";
}

}  // namespace

std::string_view to_string(FormError error) {
  switch (error) {
    case FormError::kInvalidEscape:
      return "invalid percent escape";
    case FormError::kTooManyFields:
      return "too many fields";
    case FormError::kFieldTooLong:
      return "field too long";
  }
  return "unknown form error";
}

FormParseResult parse_form(std::string_view body, const FormLimits& limits) {
  FormParseResult result;
  const auto n_separators = static_cast<std::size_t>(std::count(body.begin(), body.end(), '&'));
  result.params.reserve(std::min(n_separators + 1, limits.max_fields));

  // Space as plus: the one way form encoding differs from the percent-encoding of RFC 3986.
  const urls::encoding_opts form_encoding(/*space_as_plus=*/true);
  std::size_t n_fields = 0;
  std::size_t offset = 0;
  while (offset <= body.size()) {
    const std::size_t end = std::min(body.find('&', offset), body.size());
    const std::string_view field = body.substr(offset, end - offset);
    const std::size_t field_offset = offset;
    offset = end + 1;
    if (field.empty()) continue;

    ++n_fields;
    if (n_fields > limits.max_fields) {
      return failure(FormError::kTooManyFields,
                     "form has more than " + std::to_string(limits.max_fields) + " fields");
    }
    if (field.size() > limits.max_field_bytes) {
      return failure(FormError::kFieldTooLong, "form " + where(n_fields, field_offset) + " is " +
                                                   std::to_string(field.size()) +
                                                   " bytes, more than the limit of " +
                                                   std::to_string(limits.max_field_bytes));
    }

    const std::size_t equals = field.find('=');
    const std::string_view encoded_name = field.substr(0, equals);
    const std::string_view encoded_value =
        equals == std::string_view::npos ? std::string_view() : field.substr(equals + 1);
    const auto name = urls::make_pct_string_view(encoded_name);
    const auto value = urls::make_pct_string_view(encoded_value);
    if (!name || !value) {
      const auto& failed = name ? value : name;
      return failure(FormError::kInvalidEscape, "form " + where(n_fields, field_offset) +
                                                    " has an invalid percent escape in its " +
                                                    (name ? "value" : "name") + ": " +
                                                    failed.error().message());
    }
    result.params.emplace_back(name->decode(form_encoding), value->decode(form_encoding));
  }
  return result;
}

const std::string* find_first(const FormParams& params, std::string_view name) {
  for (const auto& [field_name, value] : params) {
    if (field_name == name) return &value;
  }
  return nullptr;
}

}  // namespace voxgate::net
