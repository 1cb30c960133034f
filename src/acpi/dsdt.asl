/*
 * vmscope's DSDT, compiled with iasl at build time (src/meson.build) and
 * embedded as dsdt_aml_code[].  It holds only what cannot live in a static
 * table: the \_S5 sleep package and the PCI host bridge.
 *
 * The power button is the ACPI fixed-feature one (FADT flag PWR_BUTTON
 * clear; PWRBTN_STS/PWRBTN_EN in PM1a), so it needs no object here: Linux
 * creates LNXPWRBN itself.  The processors are described by the MADT alone.
 */
DefinitionBlock ("", "DSDT", 2, "VMSCOP", "VMSCOPE", 1)
{
    /*
     * S5 (soft off).  SLP_TYPa = 5 is what the guest writes into PM1a_CNT
     * together with SLP_EN; src/devices/acpi_pm.c ends the VM on it
     * (ACPI_PM_SLP_TYP_S5 there must match).
     */
    Name (\_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

    Scope (\_SB)
    {
        /*
         * PCI host bridge on configuration mechanism 1 (ports 0xcf8-0xcff).
         * With ACPI on, Linux scans PCI buses only under a PNP0A03/PNP0A08
         * device, so it is declared even before there are PCI devices.
         * Windows: all I/O ports but the configuration ports, and the 32-bit
         * hole below the IOAPIC (0xc0000000-0xfebfffff, src/memmap.h).
         */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08"))
            Name (_CID, EisaId ("PNP0A03"))
            Name (_SEG, Zero)
            Name (_UID, Zero)
            Name (_BBN, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x0000, 0x0000, 0x0001)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
                    ReadWrite, 0x00000000, 0xC0000000, 0xFEBFFFFF, 0x00000000, 0x3EC00000)
            })
        }
    }
}
