/* The DSDT: dsdt.hex is generated from dsdt.asl by iasl -tc (src/meson.build). */
#include <stddef.h>
#include <stdint.h>

#include "acpi/acpi.h"
#include "dsdt.hex"

const uint8_t *const acpi_dsdt_aml = dsdt_aml_code;
const size_t acpi_dsdt_aml_len = sizeof(dsdt_aml_code);
