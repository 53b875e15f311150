#include "http/api_error.hpp"

#include <boost/json.hpp>

namespace voxgate::http {

std::string api_error_message(std::string_view body) {
  namespace json = boost::json;
  boost::system::error_code ec;
  const json::value value = json::parse(body, ec);
  if (!ec && value.is_object()) {
    if (const json::value* error = value.get_object().if_contains("error")) {
      if (error->is_string()) return std::string(error->get_string());
      if (error->is_object()) {
        if (const json::value* message = error->get_object().if_contains("message");
            message != nullptr && message->is_string()) {
          return std::string(message->get_string());
        }
      }
    }
  }
  return std::string(body.substr(0, 200));
}

}  // namespace voxgate::http
