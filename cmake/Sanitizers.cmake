# VOXGATE_SANITIZE="address;undefined" builds everything with those sanitizers.
if(VOXGATE_SANITIZE)
  list(JOIN VOXGATE_SANITIZE "," _voxgate_sanitizers)
  add_compile_options(-fsanitize=${_voxgate_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_voxgate_sanitizers})
endif()
